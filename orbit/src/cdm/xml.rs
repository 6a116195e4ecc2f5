//! CDM in XML: `<cdm>` (possibly inside an `<ndm>`) with a header, and a body holding the
//! relative metadata/data and exactly two segments.

use super::{check_writable, out_message, Cdm, CdmBuilder, CdmSection, Group, OutField};
use crate::xml::{escape, parse, XmlElement};
use crate::FormatError;

/// Elements that group keywords inside a section, by section.
const RELATIVE_GROUPS: &[&str] = &["relativeStateVector"];
const DATA_GROUPS: &[&str] = &["odParameters", "additionalParameters", "stateVector", "covarianceMatrix"];

/// Reads one XML CDM.
pub fn parse_xml(text: &str, file: &str) -> Result<Cdm, FormatError> {
    let root = parse(text).map_err(|e| FormatError::new(file, e.line, None, "XML", e.reason))?;
    let cdm = match root.name.as_str() {
        "cdm" => &root,
        "ndm" => {
            let mut messages = root.children.iter().filter(|c| c.name == "cdm");
            let first = messages
                .next()
                .ok_or_else(|| FormatError::new(file, root.line, None, "cdm", "the <ndm> holds no <cdm>"))?;
            if let Some(second) = messages.next() {
                return Err(FormatError::new(
                    file,
                    second.line,
                    None,
                    "cdm",
                    "a second <cdm>: one is read at a time",
                ));
            }
            first
        }
        other => {
            return Err(FormatError::new(file, root.line, None, other, "the root element is not <cdm>"));
        }
    };
    let mut builder = CdmBuilder::new(file, cdm.line);
    match cdm.attribute("version") {
        Some(version) => builder.entry("CCSDS_CDM_VERS", version, None, cdm.line, Some(CdmSection::Header)),
        None => builder.fail(cdm.line, "CCSDS_CDM_VERS", "the <cdm> element has no version attribute"),
    }
    only(&mut builder, cdm, &["header", "body"]);
    if let Some(header) = exactly(&mut builder, cdm, "header", 1).first() {
        keywords(&mut builder, header, CdmSection::Header, &[]);
    }
    if let Some(body) = exactly(&mut builder, cdm, "body", 1).first() {
        only(&mut builder, body, &["relativeMetadataData", "segment"]);
        if let Some(relative) = exactly(&mut builder, body, "relativeMetadataData", 1).first() {
            keywords(&mut builder, relative, CdmSection::Relative, RELATIVE_GROUPS);
        }
        for segment in exactly(&mut builder, body, "segment", 2) {
            builder.start_object(segment.line);
            only(&mut builder, segment, &["metadata", "data"]);
            if let Some(metadata) = exactly(&mut builder, segment, "metadata", 1).first() {
                keywords(&mut builder, metadata, CdmSection::ObjectMetadata, &[]);
            }
            if let Some(data) = exactly(&mut builder, segment, "data", 1).first() {
                keywords(&mut builder, data, CdmSection::ObjectData, DATA_GROUPS);
            }
        }
    }
    builder.finish()
}

/// The children named `name`, failing unless there are `count` of them.
fn exactly<'e>(
    builder: &mut CdmBuilder<'_>,
    parent: &'e XmlElement,
    name: &str,
    count: usize,
) -> Vec<&'e XmlElement> {
    let found: Vec<&XmlElement> = parent.children.iter().filter(|c| c.name == name).collect();
    if let Some(extra) = found.get(count) {
        builder.fail(extra.line, name, format!("<{}> holds {count} <{name}>; this is one more", parent.name));
    } else if found.len() < count {
        let missing = if count == 1 { "no".to_owned() } else { format!("{} of the {count}", found.len()) };
        builder.fail(parent.line, name, format!("<{}> has {missing} <{name}>", parent.name));
    }
    found.into_iter().take(count).collect()
}

fn only(builder: &mut CdmBuilder<'_>, parent: &XmlElement, allowed: &[&str]) {
    if !parent.value().is_empty() {
        builder.fail(parent.line, &parent.name, "holds text where elements are expected");
    }
    for child in parent.children.iter().filter(|c| !allowed.contains(&c.name.as_str())) {
        builder.fail(child.line, &child.name, format!("unexpected element in <{}>", parent.name));
    }
}

/// The keyword elements of a section, descending into its grouping elements.
fn keywords(builder: &mut CdmBuilder<'_>, container: &XmlElement, section: CdmSection, groups: &[&str]) {
    builder.mark(section, container.line);
    if !container.value().is_empty() {
        builder.fail(container.line, &container.name, "holds text where keyword elements are expected");
    }
    for child in &container.children {
        if child.name == "COMMENT" {
            builder.comment_in(section, child.value());
        } else if groups.contains(&child.name.as_str()) {
            keywords(builder, child, section, &[]);
        } else if child.name == "userDefinedParameters" && section == CdmSection::ObjectData {
            user_defined(builder, child);
        } else if !child.children.is_empty() {
            builder.fail(child.line, &child.name, format!("unexpected element in <{}>", container.name));
        } else {
            let value = if child.is_nil() { "" } else { child.value() };
            builder.entry(&child.name, value, child.attribute("units"), child.line, Some(section));
        }
    }
}

fn user_defined(builder: &mut CdmBuilder<'_>, container: &XmlElement) {
    for child in &container.children {
        match (child.name.as_str(), child.attribute("parameter")) {
            ("COMMENT", _) => {}
            ("USER_DEFINED", Some(parameter)) => {
                builder.entry(&format!("USER_DEFINED_{parameter}"), child.value(), None, child.line, None)
            }
            (name, _) if name.starts_with("USER_DEFINED_") => {
                builder.entry(name, child.value(), None, child.line, None)
            }
            (name, _) => builder.fail(child.line, name, "expected <USER_DEFINED parameter=\"...\">"),
        }
    }
}

/// Writes a CDM as XML, without checking it (see [`write_xml`]).
pub fn format_xml(cdm: &Cdm) -> String {
    let message = out_message(cdm);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!("<cdm id=\"CCSDS_CDM_VERS\" version=\"{}\">\n", escape(&cdm.header.version)));
    out.push_str("  <header>\n");
    push_comments(&mut out, 4, &cdm.header.comments);
    push_fields(&mut out, 4, &message.header);
    out.push_str("  </header>\n  <body>\n    <relativeMetadataData>\n");
    push_comments(&mut out, 6, &cdm.relative.comments);
    push_fields(&mut out, 6, &message.relative);
    out.push_str("    </relativeMetadataData>\n");
    for (index, (object, (metadata, data))) in
        [&cdm.object1, &cdm.object2].into_iter().zip(&message.objects).enumerate()
    {
        out.push_str("    <segment>\n      <metadata>\n");
        push_comments(&mut out, 8, &object.metadata_comments);
        push_fields(&mut out, 8, metadata);
        out.push_str("      </metadata>\n      <data>\n");
        push_comments(&mut out, 8, &object.data_comments);
        push_fields(&mut out, 8, data);
        if index == 1 && !cdm.user_defined.is_empty() {
            out.push_str("        <userDefinedParameters>\n");
            for (name, value) in &cdm.user_defined {
                out.push_str(&format!(
                    "          <USER_DEFINED parameter=\"{}\">{}</USER_DEFINED>\n",
                    escape(name),
                    escape(value)
                ));
            }
            out.push_str("        </userDefinedParameters>\n");
        }
        out.push_str("      </data>\n    </segment>\n");
    }
    out.push_str("  </body>\n</cdm>\n");
    out
}

fn push_comments(out: &mut String, indent: usize, comments: &[String]) {
    for comment in comments {
        out.push_str(&format!("{:indent$}<COMMENT>{}</COMMENT>\n", "", escape(comment)));
    }
}

/// Fields, each run of one group wrapped in that group's element.
fn push_fields(out: &mut String, indent: usize, fields: &[OutField]) {
    let mut open: Option<(Group, &str)> = None;
    for field in fields {
        if open.map(|(group, _)| group) != Some(field.group) {
            if let Some((_, element)) = open.take() {
                out.push_str(&format!("{:indent$}</{element}>\n", ""));
            }
            if let Some(element) = field.group.element() {
                out.push_str(&format!("{:indent$}<{element}>\n", ""));
                open = Some((field.group, element));
            }
        }
        let inner = if open.is_some() { indent + 2 } else { indent };
        let units = field.units.as_deref().map(|u| format!(" units=\"{}\"", escape(u))).unwrap_or_default();
        out.push_str(&format!(
            "{:inner$}<{keyword}{units}>{}</{keyword}>\n",
            "",
            escape(&field.value),
            keyword = field.keyword
        ));
    }
    if let Some((_, element)) = open {
        out.push_str(&format!("{:indent$}</{element}>\n", ""));
    }
}

/// Writes a CDM as XML after checking that it will read back.
pub fn write_xml(cdm: &Cdm) -> Result<String, FormatError> {
    check_writable(cdm, "CDM output")?;
    Ok(format_xml(cdm))
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::*;

    #[test]
    fn round_trip() {
        let cdm = sample();
        let text = write_xml(&cdm).unwrap();
        assert_eq!(parse_xml(&text, "written.xml").unwrap(), cdm);
        assert!(text.contains("<relativeStateVector>"));
        assert!(text.contains("<X units=\"km\">2570.097065</X>"));
    }

    #[test]
    fn structure_errors() {
        let text = write_xml(&sample()).unwrap();
        let third = text.replacen("  </body>", "    <segment>\n    </segment>\n  </body>", 1);
        let error = parse_xml(&third, "x.xml").unwrap_err();
        assert_eq!(error.field, "segment");
        let no_state = text.replacen("<X units=\"km\">2570.097065</X>", "<X units=\"km\" nil=\"true\"/>", 1);
        let error = parse_xml(&no_state, "x.xml").unwrap_err();
        assert_eq!(error.field, "X");
        assert!(error.reason.contains("empty"), "{error}");
        let misplaced = text.replacen("<TCA>", "<OBJECT_NAME>x</OBJECT_NAME><TCA>", 1);
        assert_eq!(parse_xml(&misplaced, "x.xml").unwrap_err().field, "OBJECT_NAME");
    }
}

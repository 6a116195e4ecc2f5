//! OMM in XML: a bare `<omm>`, or an `<ndm>` holding several (CelesTrak's layout). The
//! structure is checked element by element: one header and one body, one segment, one
//! metadata and one data block (a second `<metadata>` is an error), keywords only in the
//! section they belong to.

use super::{
    fields, messages_for, outcome_from, Dialect, KeywordLines, Omm, OmmBuilder, OmmHeaderFields, Section,
};
use crate::xml::{escape, parse, XmlElement};
use crate::{ElementSet, FormatError, ReadOutcome};

/// Parses every `<omm>` of an XML text.
pub fn parse_xml(text: &str, file: &str) -> Vec<Result<Omm, FormatError>> {
    parse_with_lines(text, file).into_iter().map(|r| r.map(|(omm, _)| omm)).collect()
}

/// Reads the element sets of an XML text, one error per bad message.
pub fn read_xml(text: &str, file: &str) -> ReadOutcome {
    outcome_from(parse_with_lines(text, file), file)
}

pub(crate) fn parse_with_lines(text: &str, file: &str) -> Vec<Result<(Omm, KeywordLines), FormatError>> {
    let root = match parse(text) {
        Ok(root) => root,
        Err(e) => return vec![Err(FormatError::new(file, e.line, None, "XML", e.reason))],
    };
    match root.name.as_str() {
        "omm" => vec![parse_message(&root, file)],
        "ndm" => {
            let mut messages = Vec::new();
            for child in &root.children {
                match child.name.as_str() {
                    "omm" => messages.push(parse_message(child, file)),
                    "COMMENT" | "MESSAGE_ID" => {}
                    other => messages.push(Err(FormatError::new(
                        file,
                        child.line,
                        None,
                        other,
                        "only <omm> messages are read from an <ndm> here",
                    ))),
                }
            }
            if messages.is_empty() {
                messages.push(Err(FormatError::new(file, root.line, None, "ndm", "holds no <omm> message")));
            }
            messages
        }
        other => vec![Err(FormatError::new(
            file,
            root.line,
            None,
            other,
            "the root element is not <omm> (or an <ndm> holding them)",
        ))],
    }
}

/// Checks that `parent` has exactly one (or, if `optional`, at most one) child `name`, and
/// returns it.
fn single<'e>(
    builder: &mut OmmBuilder<'_>,
    parent: &'e XmlElement,
    name: &str,
    optional: bool,
) -> Option<&'e XmlElement> {
    let mut found = parent.children.iter().filter(|c| c.name == name);
    let first = found.next();
    if let Some(second) = found.next() {
        builder.fail(
            second.line,
            name,
            format!("a second <{name}> in <{}>: it holds exactly one", parent.name),
        );
    }
    if first.is_none() && !optional {
        builder.fail(parent.line, name, format!("<{}> has no <{name}>", parent.name));
    }
    first
}

/// Fails on children other than the allowed ones (and on text between them).
fn only(builder: &mut OmmBuilder<'_>, parent: &XmlElement, allowed: &[&str]) {
    if !parent.value().is_empty() {
        builder.fail(parent.line, &parent.name, "holds text where elements are expected");
    }
    for child in &parent.children {
        if !allowed.contains(&child.name.as_str()) {
            builder.fail(child.line, &child.name, format!("unexpected element in <{}>", parent.name));
        }
    }
}

fn parse_message(omm: &XmlElement, file: &str) -> Result<(Omm, KeywordLines), FormatError> {
    let mut builder = OmmBuilder::new(file, Dialect::Xml, omm.line);
    match omm.attribute("version") {
        Some(version) => builder.entry("CCSDS_OMM_VERS", version, omm.line, None),
        None => builder.fail(omm.line, "CCSDS_OMM_VERS", "the <omm> element has no version attribute"),
    }
    only(&mut builder, omm, &["header", "body"]);
    if let Some(header) = single(&mut builder, omm, "header", false) {
        keywords(&mut builder, header, Section::Header);
    }
    let segment = single(&mut builder, omm, "body", false).and_then(|body| {
        only(&mut builder, body, &["segment"]);
        single(&mut builder, body, "segment", false)
    });
    if let Some(segment) = segment {
        only(&mut builder, segment, &["metadata", "data"]);
        if let Some(metadata) = single(&mut builder, segment, "metadata", false) {
            keywords(&mut builder, metadata, Section::Metadata);
        }
        if let Some(data) = single(&mut builder, segment, "data", false) {
            only(
                &mut builder,
                data,
                &[
                    "COMMENT",
                    "meanElements",
                    "spacecraftParameters",
                    "tleParameters",
                    "covarianceMatrix",
                    "userDefinedParameters",
                ],
            );
            for comment in data.children.iter().filter(|c| c.name == "COMMENT") {
                builder.comment(Some(Section::MeanElements), comment.value());
            }
            for (name, section, optional) in [
                ("meanElements", Section::MeanElements, false),
                ("spacecraftParameters", Section::Spacecraft, true),
                ("tleParameters", Section::TleParameters, true),
                ("covarianceMatrix", Section::Covariance, true),
                ("userDefinedParameters", Section::UserDefined, true),
            ] {
                if let Some(block) = single(&mut builder, data, name, optional) {
                    keywords(&mut builder, block, section);
                }
            }
        }
    }
    builder.finish()
}

/// The keyword elements of one section.
fn keywords(builder: &mut OmmBuilder<'_>, container: &XmlElement, section: Section) {
    builder.open_section(section, container.line);
    if !container.value().is_empty() {
        builder.fail(container.line, &container.name, "holds text where keyword elements are expected");
    }
    for child in &container.children {
        if child.name == "COMMENT" {
            builder.comment(Some(section), child.value());
            continue;
        }
        if !child.children.is_empty() {
            builder.fail(child.line, &child.name, "holds elements where a value is expected");
            continue;
        }
        let value = if child.is_nil() { "" } else { child.value() };
        if child.name == "USER_DEFINED" {
            match child.attribute("parameter") {
                Some(parameter) => {
                    builder.entry(&format!("USER_DEFINED_{parameter}"), value, child.line, Some(section))
                }
                None => builder.fail(child.line, "USER_DEFINED", "has no parameter attribute"),
            }
        } else {
            builder.entry(&child.name, value, child.line, Some(section));
        }
    }
}

/// Writes messages as one `<ndm>` document.
pub fn format_xml(messages: &[Omm]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ndm>\n");
    for omm in messages {
        let all = fields(omm);
        let version = omm.version.as_deref().unwrap_or(super::WRITTEN_VERSION);
        out.push_str(&format!("  <omm id=\"CCSDS_OMM_VERS\" version=\"{}\">\n", escape(version)));
        out.push_str("    <header>\n");
        push_comments(&mut out, 6, &omm.header.comments);
        push_fields(&mut out, 6, &all, Section::Header);
        out.push_str("    </header>\n    <body>\n      <segment>\n        <metadata>\n");
        push_comments(&mut out, 10, &omm.metadata.comments);
        push_fields(&mut out, 10, &all, Section::Metadata);
        out.push_str("        </metadata>\n        <data>\n");
        for (name, section) in [
            ("meanElements", Section::MeanElements),
            ("spacecraftParameters", Section::Spacecraft),
            ("tleParameters", Section::TleParameters),
            ("covarianceMatrix", Section::Covariance),
            ("userDefinedParameters", Section::UserDefined),
        ] {
            if section != Section::MeanElements && !all.iter().any(|f| f.section == section) {
                continue;
            }
            out.push_str(&format!("          <{name}>\n"));
            if section == Section::MeanElements {
                push_comments(&mut out, 12, &omm.data_comments);
            }
            push_fields(&mut out, 12, &all, section);
            out.push_str(&format!("          </{name}>\n"));
        }
        out.push_str("        </data>\n      </segment>\n    </body>\n  </omm>\n");
    }
    out.push_str("</ndm>\n");
    out
}

fn push_comments(out: &mut String, indent: usize, comments: &[String]) {
    for comment in comments {
        out.push_str(&format!("{:indent$}<COMMENT>{}</COMMENT>\n", "", escape(comment)));
    }
}

fn push_fields(out: &mut String, indent: usize, all: &[super::Field], section: Section) {
    for field in all.iter().filter(|f| f.section == section && f.keyword != "CCSDS_OMM_VERS") {
        let value = escape(field.value.as_str());
        match field.keyword.strip_prefix("USER_DEFINED_") {
            Some(parameter) => out.push_str(&format!(
                "{:indent$}<USER_DEFINED parameter=\"{}\">{value}</USER_DEFINED>\n",
                "",
                escape(parameter)
            )),
            None => out.push_str(&format!(
                "{:indent$}<{keyword}>{value}</{keyword}>\n",
                "",
                keyword = field.keyword
            )),
        }
    }
}

/// Writes element sets as an `<ndm>` of OMMs.
pub fn write_xml(sets: &[ElementSet], header: &OmmHeaderFields) -> Result<String, FormatError> {
    Ok(format_xml(&messages_for(sets, header, "OMM output")?))
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample_set;
    use super::*;

    #[test]
    fn round_trip_and_model_fixed_point() {
        let sets = vec![sample_set(), sample_set()];
        let text = write_xml(&sets, &OmmHeaderFields::now()).unwrap();
        let outcome = read_xml(&text, "written.xml");
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        assert_eq!(outcome.sets, sets);
        let messages: Vec<Omm> = parse_xml(&text, "written.xml").into_iter().map(Result::unwrap).collect();
        assert_eq!(format_xml(&messages), text);
    }

    #[test]
    fn structure_errors_name_line_and_element() {
        let text = write_xml(&[sample_set()], &OmmHeaderFields::now()).unwrap();
        let second_metadata =
            text.replacen("        <data>", "        <metadata>\n        </metadata>\n        <data>", 1);
        let error = &read_xml(&second_metadata, "x.xml").errors[0];
        assert_eq!(error.field, "metadata");
        assert_eq!(error.line, text.lines().position(|l| l.contains("<data>")).unwrap() + 1);
        let misplaced = text.replacen("<NORAD_CAT_ID>", "<OBJECT_NAME>X</OBJECT_NAME><NORAD_CAT_ID>", 1);
        let error = &read_xml(&misplaced, "x.xml").errors[0];
        assert_eq!(error.field, "OBJECT_NAME");
        assert!(error.reason.contains("metadata"), "{error}");
        let broken = text.replacen("</header>", "", 1);
        assert_eq!(read_xml(&broken, "x.xml").errors[0].field, "XML");
    }
}

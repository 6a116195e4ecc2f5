//! A small XML tree for the CCSDS XML messages (OMM, CDM): elements with their local names,
//! attributes, text and 1-based line numbers, built with quick-xml. Depth is bounded so
//! that no input can exhaust the stack.

use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::numbers::LineIndex;

/// Deepest nesting accepted. The deepest CCSDS path is seven levels
/// (`ndm/omm/body/segment/data/tleParameters/BSTAR`); the margin allows wrappers.
pub(crate) const MAX_XML_DEPTH: usize = 32;

/// One element.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct XmlElement {
    /// Local name (any namespace prefix removed).
    pub name: String,
    /// Attributes by local name, unescaped.
    pub attributes: Vec<(String, String)>,
    /// Character data directly inside the element, unescaped, not trimmed.
    pub text: String,
    /// Line of the element's start tag.
    pub line: usize,
    pub children: Vec<XmlElement>,
}

impl XmlElement {
    pub(crate) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// `nil="true"` (or `xsi:nil`): the element stands for an absent value.
    pub(crate) fn is_nil(&self) -> bool {
        self.attribute("nil").is_some_and(|v| v.trim() == "true" || v.trim() == "1")
    }

    /// The text content, trimmed.
    pub(crate) fn value(&self) -> &str {
        self.text.trim()
    }
}

/// The text is not well-formed XML, or nests deeper than [`MAX_XML_DEPTH`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct XmlSyntaxError {
    pub line: usize,
    pub reason: String,
}

/// Parses a whole document into its root element.
pub(crate) fn parse(text: &str) -> Result<XmlElement, XmlSyntaxError> {
    let lines = LineIndex::new(text);
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<XmlElement> = Vec::new();
    let mut root: Option<XmlElement> = None;
    loop {
        let offset = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let line = lines.line_of(offset);
        let event = reader.read_event().map_err(|e| XmlSyntaxError {
            line: lines.line_of(usize::try_from(reader.error_position()).unwrap_or(usize::MAX)),
            reason: e.to_string(),
        })?;
        let fail = |reason: String| XmlSyntaxError { line, reason };
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_XML_DEPTH {
                    return Err(fail(format!("elements nest deeper than {MAX_XML_DEPTH} levels")));
                }
                stack.push(element_from(&start, line, &reader).map_err(fail)?);
            }
            Event::Empty(start) => {
                let element = element_from(&start, line, &reader).map_err(fail)?;
                attach(&mut stack, &mut root, element).map_err(fail)?;
            }
            Event::End(_) => {
                let element = stack.pop().ok_or_else(|| fail("an end tag without its start tag".into()))?;
                attach(&mut stack, &mut root, element).map_err(fail)?;
            }
            Event::Text(content) => {
                // Blanks before any text (indentation between elements) change no value,
                // since values are trimmed: skipping them saves most of the copying.
                let blank = content.iter().all(u8::is_ascii_whitespace);
                if blank && stack.last().is_none_or(|top| top.text.is_empty()) {
                    continue;
                }
                let text = content.xml10_content().map_err(|e| fail(e.to_string()))?;
                push_text(&mut stack, &text).map_err(fail)?;
            }
            Event::CData(content) => {
                let text = content.decode().map_err(|e| fail(e.to_string()))?;
                push_text(&mut stack, &text).map_err(fail)?;
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(|e| fail(e.to_string()))? {
                    Some(ch) => ch.to_string(),
                    None => {
                        let name = reference.decode().map_err(|e| fail(e.to_string()))?;
                        resolve_xml_entity(&name)
                            .ok_or_else(|| fail(format!("unknown entity &{name};")))?
                            .to_string()
                    }
                };
                push_text(&mut stack, &resolved).map_err(fail)?;
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(XmlSyntaxError { line: open.line, reason: format!("<{}> is never closed", open.name) });
    }
    root.ok_or(XmlSyntaxError { line: 1, reason: "no XML element found".into() })
}

fn element_from(start: &BytesStart<'_>, line: usize, reader: &Reader<&[u8]>) -> Result<XmlElement, String> {
    let name = utf8(start.local_name().as_ref())?;
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| e.to_string())?;
        let key = utf8(attribute.key.local_name().as_ref())?;
        let value = attribute.decode_and_unescape_value(reader.decoder()).map_err(|e| e.to_string())?;
        attributes.push((key, value.into_owned()));
    }
    Ok(XmlElement { name, attributes, text: String::new(), line, children: Vec::new() })
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| "a name is not UTF-8".to_owned())
}

fn attach(
    stack: &mut [XmlElement],
    root: &mut Option<XmlElement>,
    element: XmlElement,
) -> Result<(), String> {
    if let Some(parent) = stack.last_mut() {
        parent.children.push(element);
        Ok(())
    } else if let Some(first) = root {
        Err(format!("a second root element <{}> after <{}>", element.name, first.name))
    } else {
        *root = Some(element);
        Ok(())
    }
}

fn push_text(stack: &mut [XmlElement], text: &str) -> Result<(), String> {
    match stack.last_mut() {
        Some(element) => {
            element.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err("text outside the root element".into()),
    }
}

/// Escapes text for element content or attribute values. Characters XML 1.0 cannot hold at
/// all (control characters other than tab, line feed and carriage return) become blanks.
pub(crate) fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    let allowed = |c: char| !c.is_control() || matches!(c, '\t' | '\n' | '\r');
    if text.chars().all(allowed) {
        quick_xml::escape::escape(text)
    } else {
        let cleaned: String = text.chars().map(|c| if allowed(c) { c } else { ' ' }).collect();
        std::borrow::Cow::Owned(quick_xml::escape::escape(cleaned.as_str()).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_with_lines_attributes_and_entities() {
        let text = "<?xml version=\"1.0\"?>\n<omm version=\"3.0\">\n  <header>\n    \
                    <ORIGINATOR>A &amp; B &#x41;</ORIGINATOR>\n    <X units=\"km\" nil=\"true\"/>\n  \
                    </header>\n</omm>\n";
        let root = parse(text).unwrap();
        assert_eq!(root.name, "omm");
        assert_eq!(root.line, 2);
        assert_eq!(root.attribute("version"), Some("3.0"));
        let header = &root.children[0];
        assert_eq!(header.line, 3);
        assert_eq!(header.children[0].value(), "A & B A");
        assert_eq!(header.children[0].line, 4);
        assert!(header.children[1].is_nil());
        assert_eq!(header.children[1].attribute("units"), Some("km"));
    }

    #[test]
    fn malformed_documents_are_errors() {
        for bad in ["", "plain text", "<a><b></a>", "<a>", "<a/><b/>", "<a>&bogus;</a>", "<a>x</a> trailing"]
        {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let deep = "<a>".repeat(MAX_XML_DEPTH + 1) + &"</a>".repeat(MAX_XML_DEPTH + 1);
        assert!(parse(&deep).unwrap_err().reason.contains("deeper"));
    }
}

//! Minification for production: JavaScript with swc's minifier, CSS with
//! lightningcss. One file at a time, so an error names the file it is in.

use lightningcss::stylesheet::{MinifyOptions, ParserOptions, PrinterOptions, StyleSheet};
use swc_core::common::comments::SingleThreadedComments;
use swc_core::common::sync::Lrc;
use swc_core::common::{FileName, GLOBALS, Globals, Mark, SourceMap, Spanned};
use swc_core::ecma::ast::{EsVersion, Program};
use swc_core::ecma::codegen::{Emitter, text_writer::JsWriter};
use swc_core::ecma::minifier::optimize;
use swc_core::ecma::minifier::option::{
    CompressOptions, ExtraOptions, MangleOptions, MinifyOptions as JsMinifyOptions,
};
use swc_core::ecma::parser::{EsSyntax, Syntax, parse_file_as_script};
use swc_core::ecma::transforms::base::{fixer::fixer, resolver};

/// A file that could not be minified, named with the line when known.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct MinifyError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

/// Minifies a classic (non-module) browser script: compressed and with
/// local names mangled; top-level names stay, since other files use them.
pub fn javascript(source: &str, file: &str) -> Result<String, MinifyError> {
    let map: Lrc<SourceMap> = Lrc::default();
    let source_file = map.new_source_file(
        Lrc::new(FileName::Custom(file.to_owned())),
        source.to_owned(),
    );
    let comments = SingleThreadedComments::default();
    GLOBALS.set(&Globals::new(), || {
        let mut recovered = Vec::new();
        let script = parse_file_as_script(
            &source_file,
            Syntax::Es(EsSyntax::default()),
            EsVersion::latest(),
            Some(&comments),
            &mut recovered,
        )
        .map_err(|error| {
            let line = map.lookup_char_pos(error.span().lo).line;
            MinifyError {
                file: file.to_owned(),
                line: Some(line),
                message: error.kind().msg().into_owned(),
            }
        })?;
        let unresolved_mark = Mark::new();
        let top_level_mark = Mark::new();
        let mut program = Program::Script(script);
        program.mutate(resolver(unresolved_mark, top_level_mark, false));
        let options = JsMinifyOptions {
            compress: Some(CompressOptions::default()),
            mangle: Some(MangleOptions::default()),
            ..Default::default()
        };
        let extra = ExtraOptions {
            unresolved_mark,
            top_level_mark,
            mangle_name_cache: None,
        };
        let mut program = optimize(
            program,
            map.clone(),
            Some(&comments),
            None,
            &options,
            &extra,
        );
        program.mutate(fixer(Some(&comments)));
        let mut out = Vec::new();
        {
            let mut emitter = Emitter {
                cfg: swc_core::ecma::codegen::Config::default().with_minify(true),
                cm: map.clone(),
                comments: None,
                wr: JsWriter::new(map.clone(), "\n", &mut out, None),
            };
            emitter.emit_program(&program).map_err(|e| MinifyError {
                file: file.to_owned(),
                line: None,
                message: e.to_string(),
            })?;
        }
        String::from_utf8(out).map_err(|e| MinifyError {
            file: file.to_owned(),
            line: None,
            message: e.to_string(),
        })
    })
}

/// Minifies a stylesheet.
pub fn stylesheet(source: &str, file: &str) -> Result<String, MinifyError> {
    let failed = |line: Option<usize>, message: String| MinifyError {
        file: file.to_owned(),
        line,
        message,
    };
    let options = ParserOptions {
        filename: file.to_owned(),
        ..ParserOptions::default()
    };
    let mut sheet = StyleSheet::parse(source, options).map_err(|e| {
        let line = e.loc.as_ref().map(|loc| loc.line as usize + 1);
        failed(line, e.kind.to_string())
    })?;
    sheet
        .minify(MinifyOptions::default())
        .map_err(|e| failed(None, e.kind.to_string()))?;
    let printed = sheet
        .to_css(PrinterOptions {
            minify: true,
            ..PrinterOptions::default()
        })
        .map_err(|e| failed(None, e.kind.to_string()))?;
    Ok(printed.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn javascript_shrinks_but_keeps_top_level_names() {
        let source = "var greeting = 'hi';\nfunction shout(message) {\n  var loud = message.toUpperCase();\n  return loud + '!';\n}\n";
        let out = javascript(source, "lib/client/a.js").unwrap();
        assert!(out.len() < source.len(), "{out}");
        assert!(out.contains("greeting"), "{out}");
        assert!(out.contains("function shout("), "{out}");
        assert!(!out.contains("loud"), "{out}");
    }

    #[test]
    fn javascript_errors_name_the_file_and_line() {
        let error = javascript("var a = 1;\nvar = ;\n", "lib/client/bad.js").unwrap_err();
        assert_eq!(error.file, "lib/client/bad.js");
        assert_eq!(error.line, Some(2));
        assert!(
            error.to_string().starts_with("lib/client/bad.js:2: "),
            "{error}"
        );
    }

    #[test]
    fn stylesheets_are_minified() {
        let out = stylesheet("body {\n  color: #ff0000;\n  margin: 0px;\n}\n", "app.css").unwrap();
        assert_eq!(out, "body{color:red;margin:0}");
    }

    #[test]
    fn stylesheet_errors_name_the_file_and_line() {
        let error = stylesheet(
            "body {\n  color: red;\n}\na[ { color: blue }",
            "lib/css/x.css",
        )
        .unwrap_err();
        assert!(
            error.to_string().starts_with("lib/css/x.css:4: "),
            "{error}"
        );
    }
}

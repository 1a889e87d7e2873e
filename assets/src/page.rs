//! The tags the `SocketStream` helper in `app/views/app.jade` stands for.

use crate::sources::Sources;
use crate::{AssetError, DEV_APP_STYLESHEET, DEV_LIB_SCRIPT, DEV_LIB_STYLESHEET};

/// Development: the lib bundles, the live stylesheet, a script per shared and
/// client file, and the templates.
pub(crate) async fn live_tags(sources: &Sources) -> Result<String, AssetError> {
    let mut tags = stylesheet(DEV_LIB_STYLESHEET) + stylesheet(DEV_APP_STYLESHEET).as_str();
    tags.push_str(&script(DEV_LIB_SCRIPT));
    for file in sources.code_files()? {
        tags.push_str(&script(&file.url));
    }
    tags.push_str(&sources.templates().await?);
    Ok(tags)
}

/// Production: the four packed files (names below `/assets/`) and the templates.
pub(crate) fn packed_tags(
    [lib_js, app_js, lib_css, app_css]: [&str; 4],
    templates: &str,
) -> String {
    let mut tags = stylesheet(&format!("/assets/{lib_css}"));
    tags.push_str(&stylesheet(&format!("/assets/{app_css}")));
    tags.push_str(&script(&format!("/assets/{lib_js}")));
    tags.push_str(&script(&format!("/assets/{app_js}")));
    tags.push_str(templates);
    tags
}

fn stylesheet(href: &str) -> String {
    format!("<link href=\"{href}\" media=\"screen\" rel=\"stylesheet\" type=\"text/css\">")
}

fn script(src: &str) -> String {
    format!("<script src=\"{src}\" type=\"text/javascript\"></script>")
}

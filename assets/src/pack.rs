//! Production packing (SPEC 8): `public/assets/{lib,app}_<ts>.{js,css}`,
//! minified, each beside a `.gz` and `.br` copy for the static server, and
//! `public/index.html`; what an earlier pack left is removed.

use crate::sources::{Piece, Sources, joined};
use crate::{AssetError, minify, page};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What a pack wrote, with sizes at each stage, for the log and the docs.
#[derive(Debug, Clone)]
pub struct PackReport {
    pub files: Vec<PackedFile>,
    pub elapsed: Duration,
}

#[derive(Debug, Clone)]
pub struct PackedFile {
    /// The file's name in `public/assets`.
    pub name: String,
    /// Bytes before minifying (compiled, concatenated).
    pub raw: usize,
    pub minified: usize,
    pub gzip: usize,
    pub brotli: usize,
}

pub(crate) async fn pack(sources: &Sources) -> Result<PackReport, AssetError> {
    let started = Instant::now();
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let names = [
        format!("lib_{stamp}.js"),
        format!("app_{stamp}.js"),
        format!("lib_{stamp}.css"),
        format!("app_{stamp}.css"),
    ];

    let lib_js = bundle(&sources.library_script().await?, minify::javascript)?;
    let app_js = bundle(&sources.app_script().await?, minify::javascript)?;
    let lib_css = bundle(&sources.library_stylesheet()?, minify::stylesheet)?;
    let app_css = Piece {
        name: "app/css/app.styl".into(),
        code: sources.stylesheet().await?,
        minify: true,
        end: "",
    };
    let app_css = bundle(&[app_css], minify::stylesheet)?;

    let assets_dir = sources.project().root().join("public/assets");
    create_dir(&assets_dir)?;
    let mut files = Vec::new();
    for (name, (raw, minified)) in names.iter().zip([lib_js, app_js, lib_css, app_css]) {
        files.push(write_packed(
            &assets_dir,
            name,
            raw.len(),
            minified.as_bytes(),
        )?);
    }
    let tags = page::packed_tags(
        [&names[0], &names[1], &names[2], &names[3]],
        &sources.templates().await?,
    );
    match sources.page(&tags).await {
        Ok(index) => {
            // Written aside and renamed, so a request never reads half a page.
            let public = sources.project().root().join("public");
            let index_path = public.join("index.html");
            let mut partial =
                tempfile::NamedTempFile::new_in(&public).map_err(|source| io(&public, source))?;
            partial
                .write_all(index.as_bytes())
                .map_err(|source| io(partial.path(), source))?;
            partial
                .persist(&index_path)
                .map_err(|e| io(&index_path, e.error))?;
        }
        Err(AssetError::NoPage) => {
            tracing::warn!("no app/views/app.jade: public/index.html is not written");
        }
        Err(e) => return Err(e),
    }
    remove_old_packs(&assets_dir, &names);
    Ok(PackReport {
        files,
        elapsed: started.elapsed(),
    })
}

/// A bundle as it is and minified (each piece on its own, so an error names
/// its file).
fn bundle(
    pieces: &[Piece],
    minifier: fn(&str, &str) -> Result<String, minify::MinifyError>,
) -> Result<(String, String), AssetError> {
    let mut minified = String::new();
    for piece in pieces {
        if piece.minify {
            minified.push_str(&minifier(&piece.code, &piece.name)?);
        } else {
            minified.push_str(&piece.code);
        }
        minified.push_str(piece.end);
    }
    Ok((joined(pieces), minified))
}

/// Writes `name` with its gzip and brotli copies.
fn write_packed(
    dir: &Path,
    name: &str,
    raw: usize,
    minified: &[u8],
) -> Result<PackedFile, AssetError> {
    let path = dir.join(name);
    let gzip = gzip(minified);
    let brotli = brotli(minified);
    for (path, bytes) in [
        (path.clone(), minified),
        (suffixed(&path, ".gz"), &gzip[..]),
        (suffixed(&path, ".br"), &brotli[..]),
    ] {
        std::fs::write(&path, bytes).map_err(|source| io(&path, source))?;
    }
    Ok(PackedFile {
        name: name.to_owned(),
        raw,
        minified: minified.len(),
        gzip: gzip.len(),
        brotli: brotli.len(),
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// Brotli at its best quality with the largest standard window: packs are
/// made once and served many times.
const BROTLI_BUFFER: usize = 4096;
const BROTLI_QUALITY: u32 = 11;
const BROTLI_WINDOW_BITS: u32 = 22;

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(
            &mut out,
            BROTLI_BUFFER,
            BROTLI_QUALITY,
            BROTLI_WINDOW_BITS,
        );
        let _ = writer.write_all(bytes);
    }
    out
}

/// Removes packed files (and their compressed copies) other than `keep`.
fn remove_old_packs(dir: &Path, keep: &[String]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let base = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".br"))
            .unwrap_or(&name);
        if is_packed_name(base)
            && !keep.iter().any(|kept| kept == base)
            && let Err(e) = std::fs::remove_file(entry.path())
        {
            tracing::warn!("cannot remove the old packed file {name}: {e}");
        }
    }
}

/// `lib_<digits>.js`, `app_<digits>.css` and so on.
fn is_packed_name(name: &str) -> bool {
    let Some(rest) = name
        .strip_prefix("lib_")
        .or_else(|| name.strip_prefix("app_"))
    else {
        return false;
    };
    let Some(stamp) = rest
        .strip_suffix(".js")
        .or_else(|| rest.strip_suffix(".css"))
    else {
        return false;
    };
    !stamp.is_empty() && stamp.bytes().all(|b| b.is_ascii_digit())
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn create_dir(dir: &Path) -> Result<(), AssetError> {
    std::fs::create_dir_all(dir).map_err(|source| io(dir, source))
}

fn io(path: &Path, source: std::io::Error) -> AssetError {
    AssetError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_packed_names_count_as_packed() {
        assert!(is_packed_name("lib_1732570000000.js"));
        assert!(is_packed_name("app_1.css"));
        assert!(!is_packed_name("app_.css"));
        assert!(!is_packed_name("logo_1.png"));
        assert!(!is_packed_name("lib_12a.js"));
    }

    #[test]
    fn compressed_copies_decompress_to_the_original() {
        use std::io::Read as _;
        let text = "body{color:red}".repeat(50);
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(&gzip(text.as_bytes())[..])
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, text);
        let mut unbrotlied = String::new();
        brotli::Decompressor::new(&brotli(text.as_bytes())[..], 4096)
            .read_to_string(&mut unbrotlied)
            .unwrap();
        assert_eq!(unbrotlied, text);
    }
}

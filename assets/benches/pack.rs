//! Production packing of a generated-style app: the `basic` fixture with
//! jQuery 3.7.1 (unminified, from the embedded npm package) in `lib/client`.
//! Each pack compiles everything afresh (no compile cache), minifies with swc
//! and lightningcss, and writes gzip and brotli copies. Prints the sizes once.
//! Also times swc on jQuery alone, to set beside UglifyJS (the original's
//! minifier) and terser run on the same file (docs/benchmarks.md).
//!
//! Run: `cargo bench -p ssrt-assets --bench pack`

use criterion::{Criterion, criterion_group, criterion_main};
use ssrt_assets::Assets;
use ssrt_project::Project;
use ssrt_runtime::Compiler;
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn pack(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/basic"),
        dir.path(),
    );
    let jquery = ssrt_js::npm_file("jquery/dist/jquery.js").expect("jQuery is embedded");
    std::fs::write(dir.path().join("lib/client/0.jquery.js"), jquery).expect("write jQuery");

    let project = Project::open(dir.path()).expect("project");
    let compiler = Compiler::new(project.root(), None);
    let assets = Assets::new(project, compiler, ssrt_project::Generation::V0036);
    let runtime = tokio::runtime::Runtime::new().expect("tokio");

    let report = runtime.block_on(assets.pack()).expect("pack");
    println!(
        "\nfile            raw      minified  gzip     brotli   ({} ms)",
        report.elapsed.as_millis()
    );
    for file in &report.files {
        let kind = file.name.split('_').next().unwrap_or_default();
        let ext = file.name.rsplit('.').next().unwrap_or_default();
        println!(
            "{:<15} {:>8} {:>9} {:>8} {:>8}",
            format!("{kind}.{ext}"),
            file.raw,
            file.minified,
            file.gzip,
            file.brotli
        );
    }

    let minified = ssrt_assets::minify::javascript(jquery, "jquery.js").expect("minify");
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gzip, minified.as_bytes()).expect("gzip");
    println!(
        "jQuery alone: {} bytes, {} minified by swc, {} gzipped\n",
        jquery.len(),
        minified.len(),
        gzip.finish().expect("gzip").len()
    );

    let mut group = c.benchmark_group("assets");
    group.sample_size(10);
    group.bench_function("pack fixture + jQuery 3.7.1", |b| {
        b.iter(|| runtime.block_on(assets.pack()).expect("pack"))
    });
    group.bench_function("minify jQuery 3.7.1 (swc)", |b| {
        b.iter(|| ssrt_assets::minify::javascript(jquery, "jquery.js").expect("minify"))
    });
    group.finish();
}

criterion_group!(benches, pack);
criterion_main!(benches);

//! Node's platform for the app's engine: Deno's own implementation
//! (`deno_runtime` with `deno_node`), so server code gets a maintained
//! `Buffer`, `http`, `net`, `crypto`, `zlib`, `child_process`… instead of
//! hand-written shims, and npm packages load through Node's own CommonJS
//! loader with Node's resolution rules (`main`, `exports`, `.json`, folders).
//!
//! Server code is trusted like any Node program, so every permission is
//! granted; the app's `node_modules` folder is used as it is ("bring your own
//! node_modules"), exactly as `npm install` left it.

use deno_core::{FastString, ModuleSpecifier, url::Url};
use deno_error::JsErrorBox;
use deno_resolver::npm::{
    ByonmInNpmPackageChecker, ByonmNpmResolver, ByonmNpmResolverCreateOptions,
};
use deno_runtime::deno_fs::RealFs;
use deno_runtime::deno_node::{NodeExtInitServices, NodeRequireLoader, NodeResolver};
use deno_runtime::deno_permissions::{PermissionsContainer, RuntimePermissionDescriptorParser};
use deno_runtime::deno_web::{BlobStore, InMemoryBroadcastChannel};
use deno_runtime::worker::{MainWorker, WorkerOptions, WorkerServiceOptions};
use deno_runtime::{BootstrapOptions, FeatureChecker};
use node_resolver::cache::NodeResolutionSys;
use node_resolver::{
    DenoIsBuiltInNodeModuleChecker, NodeResolverOptions, PackageJsonResolver,
    errors::PackageJsonLoadError,
};
use std::borrow::Cow;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use sys_traits::impls::RealSys;

/// A Deno main worker with Node's platform and the given extensions (ssrt's
/// ops), rooted at the app's folder. Must be called inside a tokio runtime.
pub(crate) fn main_worker(
    root: &Path,
    extensions: Vec<deno_core::Extension>,
    heap_limit_bytes: usize,
) -> MainWorker {
    // Deno's TLS (https, tls) asks rustls for the process-wide provider, which
    // rustls cannot pick by itself with both ring and aws-lc-rs in the build.
    // Already installed (a second engine, the server's TLS) is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let services =
        WorkerServiceOptions::<ByonmInNpmPackageChecker, ByonmNpmResolver<RealSys>, RealSys> {
            blob_store: Arc::new(BlobStore::default()),
            broadcast_channel: InMemoryBroadcastChannel::default(),
            deno_rt_native_addon_loader: None,
            feature_checker: Arc::new(FeatureChecker::default()),
            fs: Arc::new(RealFs),
            // ES-module-only packages: Node's `require(esm)` loads them from disk.
            module_loader: Rc::new(deno_core::FsModuleLoader),
            node_services: Some(node_services(root)),
            npm_process_state_provider: None,
            permissions: PermissionsContainer::allow_all(Arc::new(
                RuntimePermissionDescriptorParser::new(RealSys),
            )),
            root_cert_store_provider: None,
            fetch_dns_resolver: Default::default(),
            shared_array_buffer_store: None,
            compiled_wasm_module_store: None,
            v8_code_cache: None,
            bundle_provider: None,
        };
    let options = WorkerOptions {
        bootstrap: BootstrapOptions {
            has_node_modules_dir: true,
            user_agent: format!("ssrt/{}", env!("CARGO_PKG_VERSION")),
            unstable_features: node_features(),
            ..Default::default()
        },
        extensions,
        create_params: Some(
            deno_core::v8::CreateParams::default().heap_limits(0, heap_limit_bytes),
        ),
        ..Default::default()
    };
    let main_module = main_module(root);
    MainWorker::bootstrap_from_options(&main_module, services, options)
}

type Services = NodeExtInitServices<ByonmInNpmPackageChecker, ByonmNpmResolver<RealSys>, RealSys>;

/// Node's module resolution over the app's own `node_modules`.
fn node_services(root: &Path) -> Services {
    let sys = RealSys;
    let pkg_json_resolver: node_resolver::PackageJsonResolverRc<RealSys> =
        PackageJsonResolver::new(sys.clone(), None).into();
    let resolution_sys = NodeResolutionSys::new(sys.clone(), None);
    let npm_resolver = ByonmNpmResolver::new(ByonmNpmResolverCreateOptions {
        root_node_modules_dir: Some(root.join("node_modules")),
        search_stop_dir: None,
        sys: resolution_sys.clone(),
        pkg_json_resolver: pkg_json_resolver.clone(),
    });
    let node_resolver = NodeResolver::new(
        ByonmInNpmPackageChecker,
        DenoIsBuiltInNodeModuleChecker,
        npm_resolver,
        pkg_json_resolver.clone(),
        resolution_sys,
        NodeResolverOptions::default(),
    );
    NodeExtInitServices {
        node_require_loader: Rc::new(RequireLoader),
        node_resolver: node_resolver.into(),
        pkg_json_resolver,
        sys,
    }
}

/// What the worker names the main module: the app's folder, so that
/// `require` from the console and top-level code resolves from there.
fn main_module(root: &Path) -> ModuleSpecifier {
    Url::from_directory_path(root)
        .or_else(|()| Url::parse("file:///"))
        .expect("file:/// is a valid URL")
}

/// How Node's CommonJS loader reads files: straight from disk, every module
/// CommonJS unless it says otherwise (`.mjs`).
struct RequireLoader;

impl NodeRequireLoader for RequireLoader {
    fn ensure_read_permission<'a>(
        &self,
        _permissions: &mut PermissionsContainer,
        path: Cow<'a, Path>,
    ) -> Result<Cow<'a, Path>, JsErrorBox> {
        Ok(path)
    }

    fn load_text_file_lossy(&self, path: &Path) -> Result<FastString, JsErrorBox> {
        let bytes = std::fs::read(path)
            .map_err(|e| JsErrorBox::generic(format!("cannot read {}: {e}", path.display())))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned().into())
    }

    fn is_maybe_cjs(&self, specifier: &Url) -> Result<bool, PackageJsonLoadError> {
        Ok(!specifier.path().ends_with(".mjs"))
    }

    fn is_maybe_cjs_from_require(&self, specifier: &Url) -> Result<bool, PackageJsonLoadError> {
        self.is_maybe_cjs(specifier)
    }
}

/// Deno features that Node has and Deno turns off: `Object.prototype.__proto__`,
/// through which 2011 code inherits (`Store.prototype.__proto__ =
/// EventEmitter.prototype` in Connect 1.x, Express 2, Jade); without it those
/// assignments make a plain property and the methods are missing.
fn node_features() -> Vec<i32> {
    deno_runtime::UNSTABLE_FEATURES
        .iter()
        .filter(|feature| feature.name == "unsafe-proto")
        .map(|feature| feature.id)
        .collect()
}

//! The macros of dbops, re-exported by the `dbops` library (feature `macros`): use them as
//! `#[dbops::test]` and `dbops::migrations!`, not from this crate.

use std::path::{Path, PathBuf};

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{FnArg, ItemFn, LitStr, parse_macro_input};

/// A migrations directory embedded at compile time: `dbops::migrations!("migrations")` is a
/// `dbops::Result<dbops::MigrationSource>` of the directory's `.sql` files (relative to the crate's
/// `Cargo.toml`), read into the binary. Cargo rebuilds when a file changes; after adding a file,
/// touch the source file that holds the macro (as with `include_dir!` and `sqlx::migrate!`).
#[proc_macro]
pub fn migrations(input: TokenStream) -> TokenStream {
    let dir = parse_macro_input!(input as LitStr);
    match embedded_files(&dir) {
        Ok(files) => {
            let origin = dir.value();
            quote!(::dbops::MigrationSource::from_files(#origin, [#(#files),*])).into()
        }
        Err(error) => error.to_compile_error().into(),
    }
}

/// An async test with a fresh database of its own, as `sqlx::test` gives one:
///
/// ```ignore
/// #[dbops::test(migrations = "migrations", seed = "light", fixtures("tests/fixtures/riders.sql"))]
/// async fn finds_riders(client: tokio_postgres::Client) {
///     let n: i64 = client.query_one("SELECT count(*) FROM users", &[]).await.unwrap().get(0);
///     assert!(n > 0);
/// }
/// ```
///
/// The argument's type says what the test gets: `dbops::TestDatabase`, `tokio_postgres::Client`,
/// `dbops::deadpool_postgres::Pool` or `dbops::DatabaseUrl`. The database is cloned from a template
/// built once per test binary (and reused across runs while the setup is unchanged) from the
/// migrations (embedded at compile time), the seed profile and the fixture files, in that order.
/// It is dropped afterwards; a failing test's database is kept with `DBOPS_KEEP_TEST_DBS=1` (its
/// URL is printed). The server is `DATABASE_URL` when set, else an embedded cluster started once
/// per test binary. The test may return `()` or `Result<(), E: Debug>`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut setup = TestArgs::default();
    let parser = syn::meta::parser(|meta| setup.parse(meta));
    parse_macro_input!(args with parser);
    let function = parse_macro_input!(item as ItemFn);
    match expand_test(setup, function) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// The attribute's arguments.
#[derive(Default)]
struct TestArgs {
    migrations: Option<LitStr>,
    seed: Option<LitStr>,
    fixtures: Vec<LitStr>,
}

impl TestArgs {
    fn parse(&mut self, meta: syn::meta::ParseNestedMeta) -> syn::Result<()> {
        if meta.path.is_ident("migrations") {
            self.migrations = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("seed") {
            self.seed = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("fixtures") {
            let content;
            syn::parenthesized!(content in meta.input);
            let files =
                content.parse_terminated(|input| input.parse::<LitStr>(), syn::Token![,])?;
            self.fixtures.extend(files);
        } else {
            return Err(meta.error(
                "unknown argument: #[dbops::test] takes migrations = \"dir\", seed = \"profile\", fixtures(\"file.sql\", ...)",
            ));
        }
        Ok(())
    }
}

fn expand_test(args: TestArgs, function: ItemFn) -> syn::Result<Tokens> {
    if function.sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            function.sig.fn_token,
            "#[dbops::test] functions are async",
        ));
    }
    let inputs: Vec<&FnArg> = function.sig.inputs.iter().collect();
    let [FnArg::Typed(arg)] = inputs.as_slice() else {
        return Err(syn::Error::new_spanned(
            &function.sig.inputs,
            "#[dbops::test] functions take one argument: a dbops::TestDatabase, tokio_postgres::Client, \
             dbops::deadpool_postgres::Pool or dbops::DatabaseUrl",
        ));
    };
    let arg_ty = &arg.ty;
    let name = &function.sig.ident;
    let attrs = &function.attrs;
    let inner = format_ident!("__dbops_test_{}", name);
    let mut body = function.clone();
    body.sig.ident = inner.clone();
    body.attrs.clear();
    let migrations = match &args.migrations {
        Some(dir) => {
            let files = embedded_files(dir)?;
            let origin = dir.value();
            quote!(::core::option::Option::Some(::dbops::testing::EmbeddedFiles {
                origin: #origin,
                files: &[#(#files),*],
            }))
        }
        None => quote!(::core::option::Option::None),
    };
    let seed = match &args.seed {
        Some(profile) => quote!(::core::option::Option::Some(#profile)),
        None => quote!(::core::option::Option::None),
    };
    let fixtures = args
        .fixtures
        .iter()
        .map(|file| embedded_file(file, &file.value(), &resolve(file)?))
        .collect::<syn::Result<Vec<_>>>()?;
    Ok(quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        fn #name() {
            #body
            ::dbops::testing::run_test::<#arg_ty, _, _>(
                ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                ::dbops::testing::TestSetup {
                    migrations: #migrations,
                    seed: #seed,
                    fixtures: &[#(#fixtures),*],
                },
                #inner,
            )
        }
    })
}

/// A path of the attribute, relative to the crate's `Cargo.toml`.
fn resolve(path: &LitStr) -> syn::Result<PathBuf> {
    let root = std::env::var("CARGO_MANIFEST_DIR").map_err(|_| {
        syn::Error::new(
            path.span(),
            "CARGO_MANIFEST_DIR is not set (build with cargo)",
        )
    })?;
    Ok(Path::new(&root).join(path.value()))
}

/// `("file name", include_str!("/abs/path"))` for each `.sql` file of the directory, sorted.
fn embedded_files(dir: &LitStr) -> syn::Result<Vec<Tokens>> {
    let path = resolve(dir)?;
    let entries = std::fs::read_dir(&path).map_err(|e| {
        syn::Error::new(
            dir.span(),
            format!(
                "cannot read the migrations directory {}: {e}",
                path.display()
            ),
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|file| {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            embedded_file(dir, &name, file)
        })
        .collect()
}

/// `("name", include_str!("/abs/path"))`.
fn embedded_file(span_of: &LitStr, name: &str, file: &Path) -> syn::Result<Tokens> {
    if !file.is_file() {
        return Err(syn::Error::new(
            span_of.span(),
            format!("no file {}", file.display()),
        ));
    }
    let absolute = file.display().to_string();
    Ok(quote!((#name, ::core::include_str!(#absolute))))
}

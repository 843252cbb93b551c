//! With the `torch` feature, bake the libtorch library directory into the binary's rpath so
//! `trainer` runs without `LD_LIBRARY_PATH`. torch-sys exports that directory to its direct
//! dependents as `DEP_TCH_LIBTORCH_LIB`.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if std::env::var_os("CARGO_FEATURE_TORCH").is_none() {
        return;
    }
    match std::env::var("DEP_TCH_LIBTORCH_LIB") {
        Ok(lib) => println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}"),
        Err(_) => println!(
            "cargo:warning=torch-sys did not report its libtorch directory; \
             the trainer will need LD_LIBRARY_PATH to start"
        ),
    }
}

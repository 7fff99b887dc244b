//! Build script. Generated artefacts (man pages, shell completions) arrive
//! with the `ha-manager` role; for now it only pins the rebuild trigger.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}

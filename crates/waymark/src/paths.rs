//! Where the hub's data files are found when not given on the command line.

use std::path::{Path, PathBuf};

/// The `mappings/` folder: `given`, else `./mappings`, else the one in the source tree this
/// binary was built from.
pub fn mappings_dir(given: Option<&Path>) -> PathBuf {
    if let Some(dir) = given {
        return dir.to_owned();
    }
    let here = PathBuf::from("mappings");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings")
}

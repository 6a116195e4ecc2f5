//! Where the shared test and benchmark data lives: `$COMMONS_DATA`, else `../shared/data`
//! from the workspace root. The data is never copied into the repository or a binary; tests
//! that need it skip with a message when it is absent.

use std::path::PathBuf;

/// The shared data directory, if present.
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("COMMONS_DATA") {
        let dir = PathBuf::from(dir);
        return dir.is_dir().then_some(dir);
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = workspace.join("../shared/data");
    dir.is_dir().then(|| dir.canonicalize().unwrap_or(dir))
}

/// A file under the shared data directory, or `None` (after printing why) so a test can skip.
pub fn data_file(relative: &str) -> Option<PathBuf> {
    match data_dir() {
        Some(dir) => {
            let path = dir.join(relative);
            if path.exists() {
                Some(path)
            } else {
                eprintln!("skipping: {} is not in the shared data directory {}", relative, dir.display());
                None
            }
        }
        None => {
            eprintln!("skipping: the shared data directory (../shared/data or $COMMONS_DATA) is absent");
            None
        }
    }
}

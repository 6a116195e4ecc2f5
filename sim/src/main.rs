//! `commons-sim`: the simulator entry point (deterministic runs and the real cluster runner come with issue 7).
fn main() -> anyhow::Result<()> {
    anyhow::bail!("commons-sim: the simulator is not built yet (issue 7)")
}

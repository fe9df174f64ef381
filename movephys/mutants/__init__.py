"""The suite's own mutation score: break the reference kernel on purpose.

Each mutant (kernel/mutants/mutants.toml) is one edit of the patched
reference source that breaks one claim of the series or one spec row. The
runner applies it to a copy of the cached reference build, rebuilds
incrementally, runs the conformance suite on it in the VM and records
whether the suite noticed: the kill matrix in build/mutants/ and
docs/mutants.md.

Modelled on movephys.vm (kunit_tool style): mutant (the data, apply and
restore), claims (what a mutant breaks), workspace (the copy of the
reference tree and build dir), build (incremental rebuild), run (one suite
run), report (JUnit to case ids to spec rows), matrix (the kill matrix,
stored and rendered) and cli.
"""

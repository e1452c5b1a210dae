//! Benchmarks of itera live in `benches/benches/` (run them with `cargo bench -p itera-benches`)
//! and comparison scripts beside them. This library target only holds helpers they share.

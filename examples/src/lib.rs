//! Runnable examples of itera live in `examples/examples/` (`cargo run -p itera-examples --example
//! NAME`), with the example experiments' files beside them. This library target only holds helpers
//! they share.

pub mod cross_judge;
pub mod rows_gen;
pub mod validity;
pub mod validity_ext;

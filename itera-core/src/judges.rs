//! Built-in deterministic judges (filled by the judges work item).

//! CSV and JSONL row loaders with named columns (filled by the loaders work item).

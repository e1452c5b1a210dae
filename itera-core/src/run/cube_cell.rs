//! One cell of the score cube (cube.rs): a call's result packed into 64 bytes, each optional
//! value a plain number with a presence bit (issue #17: memory while scoring grows with the
//! calls).

/// One cell: a call's result, packed (issue #17: memory while scoring grows with the calls; the
/// cell was 112 bytes of `Option`s, it is 64): the optional values are plain numbers with a
/// presence bit each, so nothing is encoded as a sentinel value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Cell {
    score: f64,
    cost_usd: f64,
    pub(super) latency_ms: f64,
    queue_ms: f64,
    server_ms: f64,
    input_tokens: u64,
    output_tokens: u64,
    /// The `Cell::*` bits: filled, failed, cold, and which optional values are present.
    flags: u16,
    /// Bit i set = failure mode i of the registered taxonomy assigned.
    pub(super) modes: u8,
}

impl Cell {
    const FILLED: u16 = 1;
    const FAILED: u16 = 1 << 1;
    /// A cold call (G28): it wrote the provider's prompt cache and read nothing from it.
    const COLD: u16 = 1 << 2;
    const SCORE: u16 = 1 << 3;
    const COST: u16 = 1 << 4;
    /// Itera's own queue wait before the call was sent (#19), when measured.
    const QUEUE: u16 = 1 << 5;
    /// The processing time the endpoint reported, when it did.
    const SERVER: u16 = 1 << 6;
    const INPUT: u16 = 1 << 7;
    const OUTPUT: u16 = 1 << 8;

    fn put_f64(&mut self, bit: u16, v: Option<f64>) -> f64 {
        self.flags |= if v.is_some() { bit } else { 0 };
        v.unwrap_or(0.0)
    }

    fn put_u64(&mut self, bit: u16, v: Option<u64>) -> u64 {
        self.flags |= if v.is_some() { bit } else { 0 };
        v.unwrap_or(0)
    }

    fn has(&self, bit: u16) -> bool {
        self.flags & bit != 0
    }

    fn get(&self, bit: u16, v: f64) -> Option<f64> {
        self.has(bit).then_some(v)
    }

    #[allow(clippy::too_many_arguments)] // the fields of one scored call
    pub(super) fn scored(
        score: f64,
        modes: u8,
        cost_usd: Option<f64>,
        input_tokens: Option<u64>,
        output_tokens: Option<u64>,
        latency_ms: f64,
        queue_ms: Option<f64>,
        server_ms: Option<f64>,
        cold: bool,
    ) -> Cell {
        let mut c = Cell {
            flags: Cell::FILLED | Cell::SCORE | if cold { Cell::COLD } else { 0 },
            score,
            modes,
            latency_ms,
            ..Cell::default()
        };
        c.cost_usd = c.put_f64(Cell::COST, cost_usd);
        c.queue_ms = c.put_f64(Cell::QUEUE, queue_ms);
        c.server_ms = c.put_f64(Cell::SERVER, server_ms);
        c.input_tokens = c.put_u64(Cell::INPUT, input_tokens);
        c.output_tokens = c.put_u64(Cell::OUTPUT, output_tokens);
        c
    }

    pub(super) fn failed_call(latency_ms: f64, queue_ms: Option<f64>) -> Cell {
        let mut c = Cell {
            flags: Cell::FILLED | Cell::FAILED,
            latency_ms,
            ..Cell::default()
        };
        c.queue_ms = c.put_f64(Cell::QUEUE, queue_ms);
        c
    }

    pub(super) fn filled(&self) -> bool {
        self.has(Cell::FILLED)
    }
    pub(super) fn failed(&self) -> bool {
        self.has(Cell::FAILED)
    }
    pub(super) fn cold(&self) -> bool {
        self.has(Cell::COLD)
    }
    pub(super) fn score(&self) -> Option<f64> {
        self.get(Cell::SCORE, self.score)
    }
    pub(super) fn cost_usd(&self) -> Option<f64> {
        self.get(Cell::COST, self.cost_usd)
    }
    pub(super) fn queue_ms(&self) -> Option<f64> {
        self.get(Cell::QUEUE, self.queue_ms)
    }
    pub(super) fn server_ms(&self) -> Option<f64> {
        self.get(Cell::SERVER, self.server_ms)
    }
    pub(super) fn input_tokens(&self) -> Option<u64> {
        self.has(Cell::INPUT).then_some(self.input_tokens)
    }
    pub(super) fn output_tokens(&self) -> Option<u64> {
        self.has(Cell::OUTPUT).then_some(self.output_tokens)
    }
}

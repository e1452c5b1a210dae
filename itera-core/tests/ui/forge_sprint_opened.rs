// A `sprint-opened` event cannot be made outside the crate, so the sprint cap cannot be reset
// (G34, G36).
use itera_core::Event;

fn forge() -> Event {
    Event::SprintOpened { sprint: 1, audit: None }
}

fn main() {}

//! The progress bar of long commands (`reconcile`, `import`).

use gateway::reconcile::Progress;
use indicatif::{ProgressBar, ProgressStyle};

/// An indicatif bar; it draws nothing when stderr is not a terminal.
pub struct Bar(ProgressBar);

impl Bar {
    pub fn new() -> Bar {
        Bar(ProgressBar::new_spinner())
    }
}

impl Progress for Bar {
    fn phase(&self, name: &str, total: Option<u64>) {
        let style = match total {
            Some(total) => {
                self.0.set_length(total);
                ProgressStyle::with_template("{msg:32} [{bar:40}] {pos}/{len} ({eta})")
            }
            None => ProgressStyle::with_template("{msg:32} {spinner} {pos}"),
        };
        if let Ok(style) = style {
            self.0.set_style(style.progress_chars("=> "));
        }
        self.0.set_position(0);
        self.0.set_message(name.to_owned());
    }

    fn advance(&self, steps: u64) {
        self.0.inc(steps);
    }

    fn done(&self) {
        self.0.finish_and_clear();
    }
}

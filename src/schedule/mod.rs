//! Reminders: deadline-aware, cron-scheduled mail, exactly once.
pub mod rules;

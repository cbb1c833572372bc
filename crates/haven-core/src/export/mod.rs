//! Rules for data leaving Haven as files staff open elsewhere (registers, reports).

pub mod csv;

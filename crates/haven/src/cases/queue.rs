//! What the work queue needs to know about the loaded services: which states are closed, and
//! each service's bands in the definition's order (synced to `service_bands` at start-up).

use crate::services::Registry;

/// `service:state` of every terminal state of every loaded service.
pub fn closed_states(registry: &Registry) -> Vec<String> {
    registry
        .definitions()
        .flat_map(|def| {
            def.workflow
                .iter()
                .flat_map(|w| w.states.iter())
                .filter(|s| s.terminal)
                .map(move |s| format!("{}:{}", def.id, s.key))
        })
        .collect()
}

/// Each loaded service's `bands` list (lowest first, as the definition writes it), for
/// [`crate::storage::Storage::sync_band_ranks`] at start-up: the queue orders by it.
pub fn band_orders(registry: &Registry) -> Vec<(String, Vec<String>)> {
    registry
        .definitions()
        .map(|def| {
            let bands = def
                .screening
                .as_ref()
                .map(|s| s.bands.clone())
                .unwrap_or_default();
            (def.id.clone(), bands)
        })
        .collect()
}

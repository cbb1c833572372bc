//! Which service a message is for: the first recipient (the envelope's `Delivered-To`
//! first, then `To`, then `Cc`) that is one of the definitions' intake addresses.

use crate::message::Recipient;

/// The service whose intake address received the message; `None` when no recipient is an
/// intake address (the message is then not for any service: quarantine or ignore it).
/// Addresses compare case-insensitively, surrounding angle brackets and space ignored.
pub fn service_for<'a>(
    recipients: &[Recipient],
    intake_addresses: &'a [(&str, &str)],
) -> Option<&'a str> {
    let norm = |a: &str| {
        a.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim()
            .to_lowercase()
    };
    recipients.iter().find_map(|r| {
        let address = norm(&r.address);
        intake_addresses
            .iter()
            .find(|(intake, _)| norm(intake) == address)
            .map(|(_, service)| *service)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::RecipientKind;

    fn r(address: &str, kind: RecipientKind) -> Recipient {
        Recipient {
            address: address.to_string(),
            kind,
        }
    }

    #[test]
    fn envelope_first_then_headers() {
        let intake = [
            ("secos.project@secos.cjsm.net", "secos"),
            ("mash@council.example", "mash"),
        ];
        let rs = [
            r("mash@council.example", RecipientKind::DeliveredTo),
            r("SECOS.Project@secos.cjsm.net", RecipientKind::To),
        ];
        assert_eq!(service_for(&rs, &intake), Some("mash"));
        assert_eq!(service_for(&rs[1..], &intake), Some("secos"));
        assert_eq!(
            service_for(&[r("someone@else.example", RecipientKind::To)], &intake),
            None
        );
        assert_eq!(service_for(&[], &intake), None);
    }
}

//! Device state named by the VM description: in every capture, every device section splits
//! into its described fields using exactly the section's bytes (which also confirms where
//! the footer scan ended each section).

use pageflate_conformance::shared;
use pageflate_core::migration::{parse_main_stream, vmstate::split_fields};
use serde_json::Value;

#[test]
fn every_device_section_splits_into_its_described_fields() {
    for capture in shared::captures() {
        let stream = shared::read_zst(&format!("captures/{capture}/conn-0.bin.zst"));
        let m = parse_main_stream(&stream, 4096).unwrap();
        let v = m.vmdesc.as_ref().unwrap();
        let desc: Value = serde_json::from_slice(&stream[v.json.clone()]).unwrap();
        let devices = desc["devices"].as_array().unwrap();
        let mut fields = 0;
        for (section, device) in m.device_sections().zip(devices) {
            assert_eq!(device["name"], section.idstr);
            let f = split_fields(device, &stream[section.data.clone()])
                .unwrap_or_else(|e| panic!("{capture}: {}: {e:?}", section.idstr));
            fields += f.len();
        }
        assert!(fields > 300, "{capture}: only {fields} fields");
        eprintln!(
            "{capture}: {} device sections, {fields} named fields",
            devices.len()
        );
    }
}

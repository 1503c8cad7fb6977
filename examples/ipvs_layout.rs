// SPDX-License-Identifier: GPL-2.0

//! Prints the IPVS sync structure layouts the crate assumes
//! (`ipvs_auth_proto::ipvs_layout`), one line per structure and member:
//!
//! ```text
//! <struct> size <bytes>
//! <struct>.<member> <offset> <size>
//! ```
//!
//! `scripts/wire-layout-guard.sh` prints pahole's view of the kernel in the
//! same form and compares the two.

fn main() {
    for s in ipvs_auth_proto::ipvs_layout::ALL {
        println!("{} size {}", s.name, s.size);
        for f in s.fields {
            println!("{}.{} {} {}", s.name, f.name, f.offset, f.size);
        }
    }
}

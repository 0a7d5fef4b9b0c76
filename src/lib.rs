//! bpfbox

//! Build script: the napi-rs set-up, and the kernel's YNL specs made available to the decoder.
//!
//! The specs (`Documentation/netlink/specs/*.yaml`, licence `(GPL-2.0 WITH Linux-syscall-note) OR
//! BSD-3-Clause`) come from the crate `netlink-bindings`, which ships them in its package: it is a
//! build-dependency only so that cargo fetches the pinned version, and `cargo metadata` says where
//! its sources are. Each spec is turned from YAML into compact JSON here, so the addon carries no
//! YAML parser and parses one family's spec only when a capture first meets that family.
//!
//! The eBPF program `bpf/netlink_send.bpf.c` is compiled here (clang `-target bpf -g -O2`) into
//! `OUT_DIR` and embedded (`attribution/bpf.rs`). The compiler and headers are the ones
//! `scripts/bpf-toolchain.js` (run by `node scripts/setup.js`) fetched into its cache; it writes
//! where they are to `bpf/toolchain.json`, read here by every cargo invocation (build, test,
//! clippy). `NLMONCTL_BPF_TOOLCHAIN` names another such file.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    napi_build::setup();
    embed_specs();
    if let Err(message) = build_bpf() {
        // One line cargo shows as the build's error (and the build fails).
        println!("cargo::error={message}");
    }
}

/// The target's architecture as libbpf's `__TARGET_ARCH_*` names it.
fn target_arch() -> String {
    match std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("x86_64") => "x86".into(),
        Ok("aarch64") => "arm64".into(),
        Ok("riscv64") => "riscv".into(),
        Ok("powerpc64") => "powerpc".into(),
        Ok(other) => other.into(),
        Err(_) => "x86".into(),
    }
}

fn build_bpf() -> Result<(), String> {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let source = manifest_dir.join("bpf").join("netlink_send.bpf.c");
    println!("cargo:rerun-if-changed={}", source.display());
    println!("cargo:rerun-if-env-changed=NLMONCTL_BPF_TOOLCHAIN");
    let file = std::env::var_os("NLMONCTL_BPF_TOOLCHAIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir.join("bpf").join("toolchain.json"));
    println!("cargo:rerun-if-changed={}", file.display());
    let missing = |why: &str| {
        format!(
            "the eBPF compiler is not set up ({why}): run `node scripts/setup.js` (it fetches clang and the BPF headers)"
        )
    };
    let text = fs::read_to_string(&file).map_err(|_| missing(&format!("no {}", file.display())))?;
    // What scripts/bpf-toolchain.js wrote: {"clang", "libraryPath", "include": [...]}.
    let toolchain: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| missing(&format!("{} unreadable: {e}", file.display())))?;
    let path = |key: &str| toolchain[key].as_str().map(PathBuf::from);
    let (Some(compiler), Some(library_path)) = (path("clang"), path("libraryPath")) else {
        return Err(missing(&format!(
            "{} lacks clang or libraryPath",
            file.display()
        )));
    };
    if !compiler.exists() {
        return Err(missing(&format!("no {}", compiler.display())));
    }
    let include: Vec<&str> = toolchain["include"]
        .as_array()
        .map(|dirs| dirs.iter().filter_map(|d| d.as_str()).collect())
        .unwrap_or_default();
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?)
        .join("netlink_send.bpf.o");
    let mut clang = Command::new(&compiler);
    clang
        .env("LD_LIBRARY_PATH", &library_path)
        .args(["-target", "bpf", "-g", "-O2", "-Wall", "-Werror"])
        // bpf_tracing.h wants the architecture the kernel runs on (libbpf's names)
        .arg(format!("-D__TARGET_ARCH_{}", target_arch()));
    for dir in include {
        clang.arg("-I").arg(dir);
    }
    let result = clang
        .arg("-c")
        .arg(&source)
        .arg("-o")
        .arg(&out)
        .output()
        .map_err(|e| missing(&format!("{} does not run: {e}", compiler.display())))?;
    if !result.status.success() {
        // clang's diagnostics, then the one-line error
        eprintln!("{}", String::from_utf8_lossy(&result.stderr));
        return Err(format!(
            "clang failed to compile {} (its messages are above)",
            source.display()
        ));
    }
    Ok(())
}

/// The `src/` folder of the netlink-bindings package cargo resolved for this crate.
fn bindings_src() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .expect("running cargo metadata to find the netlink-bindings specs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let package = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "netlink-bindings")
        .expect("netlink-bindings is not among the resolved packages");
    Path::new(package["manifest_path"].as_str().unwrap())
        .parent()
        .unwrap()
        .join("src")
}

fn embed_specs() {
    let src = bindings_src();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let mut entries = Vec::new();
    let mut dirs: Vec<_> = fs::read_dir(&src)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .collect();
    dirs.sort_by_key(|e| e.file_name());
    for dir in dirs {
        let name = dir.file_name().to_string_lossy().into_owned();
        // The kernel's spec is `<name>/<name>.yaml`; the crate's own `*.overrides.yaml` patch its
        // code generation and are not specs of the kernel's.
        let path = dir.path().join(format!("{name}.yaml"));
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        println!("cargo:rerun-if-changed={}", path.display());
        let yaml: serde_json::Value = serde_yaml_ng::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not a YAML spec: {e}", path.display()));
        let json_name = format!("ynl-{name}.json");
        fs::write(out_dir.join(&json_name), serde_json::to_vec(&yaml).unwrap()).unwrap();
        // Which specs a netlink family's messages may belong to is known without parsing them.
        let raw = yaml["protocol"] == "netlink-raw";
        let protonum = yaml["protonum"].as_u64().unwrap_or(16);
        entries.push(format!(
            "    Spec {{ name: {name:?}, raw: {raw}, protonum: {protonum}, json: include_str!(concat!(env!(\"OUT_DIR\"), \"/{json_name}\")) }},\n"
        ));
    }
    assert!(
        !entries.is_empty(),
        "no YNL specs found under {}",
        src.display()
    );
    let table = format!(
        "/// netlink-bindings' copy of the kernel's YNL specs, as JSON.\npub static SPECS: &[Spec] = &[\n{}];\n",
        entries.concat()
    );
    fs::write(out_dir.join("ynl_specs.rs"), table).unwrap();
}

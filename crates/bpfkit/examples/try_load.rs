fn main() {
    let path = std::env::args().nth(1).unwrap();
    match bpfkit::OpenObject::open(&path).and_then(|o| o.load()) {
        Ok(obj) => {
            for p in obj.programs() {
                println!("loaded {}", p.name());
            }
        }
        Err(e) => println!("error: {e}\nlog: {:?}", e.verifier_log()),
    }
}

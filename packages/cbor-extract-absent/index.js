// cbor-x loads cbor-extract inside a try/catch and falls back to JavaScript when loading throws.
throw new Error("cbor-extract native acceleration is not installed");

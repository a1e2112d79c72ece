//! synclake's Lambda functions, each a thin binary over this library.

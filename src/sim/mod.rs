//! The simulated cluster and the regression tester (01). SCAFFOLD.

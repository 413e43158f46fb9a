"""skae's tests: a package, so that test modules in the wings' folders may share basenames."""

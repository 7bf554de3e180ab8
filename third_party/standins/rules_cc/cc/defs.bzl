"""Stand-in for @rules_cc//cc:defs.bzl: re-exports Bazel 4.2.3's native C++ rules.

Offline, Bazel cannot fetch rules_cc, yet @bazel_tools loads this file. The real
rules_cc 0.0.x is a thin wrapper over the same native rules, so BUILD files that
load from here behave the same as with the real one.
"""

cc_binary = native.cc_binary
cc_import = native.cc_import
cc_library = native.cc_library
cc_proto_library = native.cc_proto_library
cc_shared_library = getattr(native, "cc_shared_library", None)
cc_test = native.cc_test
cc_toolchain = native.cc_toolchain
cc_toolchain_suite = native.cc_toolchain_suite
fdo_prefetch_hints = native.fdo_prefetch_hints
fdo_profile = native.fdo_profile
objc_import = native.objc_import
objc_library = native.objc_library

"""Targets of runtime/cuda that exist only when a CUDA toolkit was found.

Like //third_party/cuda:build_defs.bzl's cuda_library, these create no target
at all without a toolkit (@local_cuda's CUDA_FOUND is False), so a dependent
must go through if_cuda(): a missing guard is a loud "no such target".
"""

load("@local_cuda//:defs.bzl", "CUDA_FOUND")
load("@rules_cc//cc:defs.bzl", "cc_library", "cc_test")

def cuda_only_cc_library(**kwargs):
    """A cc_library that needs the CUDA headers; nothing without a toolkit."""
    if CUDA_FOUND:
        cc_library(**kwargs)

def cuda_only_cc_test(tags = [], **kwargs):
    """A cc_test of CUDA-only code, tagged "cuda"; nothing without a toolkit.

    It must pass on machines with the toolkit but no GPU: GPU tests skip.
    """
    if CUDA_FOUND:
        cc_test(tags = tags + ["cuda"], **kwargs)

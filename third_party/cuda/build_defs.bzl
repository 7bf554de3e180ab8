"""Macros for CUDA sources, select-free: they read @local_cuda//:defs.bzl.

    load("//third_party/cuda:build_defs.bzl", "cuda_library", "cuda_test", "if_cuda")

    cuda_library(
        name = "softmax_gpu",
        srcs = ["softmax_gpu.cu"],          # .cu files, compiled by nvcc
        hdrs = ["softmax_gpu.h"],           # plain C++ headers for the callers
        deps = ["//ir", "@absl//:status"],  # their headers (and -I/-isystem/-D) reach nvcc
    )

    cc_test(
        name = "softmax_test",
        srcs = ["softmax_test.cc"],
        deps = if_cuda([":softmax_gpu"]) + ["@gtest//:gtest_main"],
        local_defines = if_cuda(["SLUICE_HAVE_CUDA=1"]),
    )

When no toolkit was found (CUDA_FOUND is False; e.g. --repo_env=CUDA_PATH=/none)
cuda_library and cuda_test create no targets at all, so anything that depends on
them must go through if_cuda(). That keeps a CPU-only checkout building and makes
a missing guard a loud "no such target" rather than a link error.

nvcc runs from a genrule (`nvcc --lib`), so the objects are built by nvcc's own
host-compiler invocation (-ccbin = the C++ toolchain's compiler); the archive is
wrapped in a `cc_library(linkstatic = True)` that also brings cudart_static. Eigen
is always on nvcc's path as -isystem (fallback GPU kernels use Eigen::GpuDevice).
nvcc takes 10-16 s and ~0.5 GiB per Eigen translation unit: keep .cu files few.
Tests that need an actual GPU must check for one at run time and GTEST_SKIP
without it; CI machines have the toolkit but no driver.
"""

load(
    "@local_cuda//:defs.bzl",
    "CUDA_FOUND",
    "CUDA_VERSION",
    "NVCC",
    "NVCC_VERSION_ID",
)

# The flags every .cu file is compiled with. --diag-suppress=20012 silences
# Eigen's "__host__ annotation is ignored on a function that is explicitly
# defaulted" warnings.
NVCC_FLAGS = [
    "-std=c++17",
    "-O2",
    "-Xcompiler",
    "-fPIC",
    "--expt-relaxed-constexpr",
    "--diag-suppress=20012",
]

DEFAULT_CUDA_ARCH = "sm_90"

def if_cuda(if_true, if_false = []):
    """Returns if_true when a CUDA toolkit was found, else if_false (no select())."""
    return if_true if CUDA_FOUND else if_false

def _nvcc_inputs_impl(ctx):
    # A genrule sees only files, not CcInfo. This rule turns the deps' compilation
    # contexts into an nvcc options file and exposes their headers as files, so
    # that #include "ir/graph.h" works in a .cu file exactly as in a .cc file.
    cc = cc_common.merge_cc_infos(
        cc_infos = [d[CcInfo] for d in ctx.attr.deps if CcInfo in d],
    ).compilation_context
    lines = []
    for define in cc.defines.to_list():
        lines.append("-D" + define)

    # nvcc has no -iquote; -I is a superset of it.
    for path in cc.quote_includes.to_list() + cc.includes.to_list():
        lines.append("-I" + path)
    for path in cc.system_includes.to_list():
        lines.append("-isystem " + path)
    ctx.actions.write(ctx.outputs.flags, "\n".join(lines) + "\n")
    return [DefaultInfo(files = depset([ctx.outputs.flags], transitive = [cc.headers]))]

_nvcc_inputs = rule(
    implementation = _nvcc_inputs_impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "flags": attr.output(mandatory = True),
    },
)

def _repo_root():
    # Paths in a genrule command are relative to the execroot: sluice's own files
    # are at ./ when it is the main repository and at external/sluice/ when it
    # is a dependency.
    repo = native.repository_name()
    return "." if repo == "@" else "external/" + repo[1:]

def cuda_library(
        name,
        srcs,
        hdrs = [],
        deps = [],
        copts = [],
        gpu_arch = DEFAULT_CUDA_ARCH,
        **kwargs):
    """A cc_library of .cu files compiled by nvcc. No targets without CUDA.

    Args:
      name: the cc_library's name; dependents use it like any cc_library.
      srcs: .cu files (all compiled into one archive by one nvcc call).
      hdrs: headers of the library, for its callers and for the .cu files.
      deps: cc_library deps; their headers and include paths reach nvcc too, and
        they are linked into dependents as usual.
      copts: extra nvcc flags (e.g. ["-lineinfo"]).
      gpu_arch: nvcc -arch value (SASS for it plus PTX that newer GPUs can JIT).
      **kwargs: passed to the cc_library (visibility, testonly, tags, alwayslink,
        linkopts, ...); visibility, testonly and tags also to the helper targets.
    """
    if not CUDA_FOUND:
        return

    helper_kwargs = {
        "testonly": kwargs.get("testonly", False),
        "tags": kwargs.get("tags", []),
        "visibility": ["//visibility:private"],
    }
    all_deps = deps + ["@eigen//:eigen"]
    _nvcc_inputs(
        name = name + "_nvcc_inputs",
        deps = all_deps,
        flags = name + "_nvcc_flags.txt",
        **helper_kwargs
    )

    root = _repo_root()
    archive = "lib%s_nvcc.a" % name
    cmd = " ".join([
        # Part of the command line, so part of the action key: another nvcc
        # build means another cache entry.
        "NVCC_VERSION_ID='%s' CUDA_VERSION='%s'" % (NVCC_VERSION_ID, CUDA_VERSION),
        NVCC,
        "--lib",
        "-ccbin $(CC)",
        "-arch=" + gpu_arch,
        " ".join(NVCC_FLAGS),
        "-I" + root,
        "-I$(GENDIR)" + ("" if root == "." else "/" + root),
        "--options-file $(location %s_nvcc_flags.txt)" % name,
        " ".join(copts),
        "-o $@",
        " ".join(["$(locations %s)" % s for s in srcs]),
    ])
    native.genrule(
        name = name + "_nvcc",
        srcs = srcs + hdrs + [
            ":" + name + "_nvcc_inputs",
            ":" + name + "_nvcc_flags.txt",
        ],
        outs = [archive],
        cmd = cmd,
        toolchains = ["@bazel_tools//tools/cpp:current_cc_toolchain"],
        message = "Compiling CUDA sources of %s with nvcc" % name,
        **helper_kwargs
    )

    native.cc_library(
        name = name,
        srcs = [":" + archive],
        hdrs = hdrs,
        deps = deps + ["@local_cuda//:cudart_static"],
        linkstatic = True,
        **kwargs
    )

def cuda_test(name, deps = [], tags = [], **kwargs):
    """A cc_test linked with cudart_static; no target without CUDA.

    Use it for tests of cuda_library targets. Such tests must pass on machines
    with the toolkit but without a GPU: check for a device at run time and
    GTEST_SKIP when there is none.
    """
    if not CUDA_FOUND:
        return
    native.cc_test(
        name = name,
        deps = deps + ["@local_cuda//:cudart_static"],
        tags = tags + ["cuda"],
        **kwargs
    )

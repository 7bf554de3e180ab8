"""sluice's external repositories, for sluice's own WORKSPACE and downstream ones.

A downstream WORKSPACE needs only:

    local_repository(name = "sluice", path = "...")   # or any other way to get it
    load("@sluice//third_party:deps.bzl", "sluice_deps")
    sluice_deps()

Everything comes from the local machine (Debian packages; ./bazelw installs them):
nothing is downloaded. Each repository is defined only if the WORKSPACE has not
defined that name already, so a downstream repo can bring its own (say, a real
@rules_cc) by defining it before calling sluice_deps().

Labels (sluice's BUILD files use exactly these):
  @absl//:<c>                one per Abseil pkg-config module absl_<c>:
                             @absl//:status, :statusor, :strings, :str_format,
                             :flat_hash_map, :span, :flags_parse, :random_random, ...
  @eigen//:eigen             Eigen 3 headers (incl. unsupported/Eigen/CXX11/Tensor)
  @glog//:glog               glog + gflags; @glog//:gflags for gflags alone
  @gtest//:gtest, :gtest_main, :gmock, :gmock_main
  @benchmark//:benchmark, :benchmark_main
  @local_cuda//:defs.bzl, :cuda_headers, :cudart_static  (see cuda/cuda_configure.bzl)

Paths and labels here are written relative to this file's repository (Label()
and "//..." in load()), so they resolve both when sluice is the main repository
and when it is @sluice.
"""

load("//third_party:repositories.bzl", "absl_repository", "standin_repository", "system_library_repository")
load("//third_party/cuda:cuda_configure.bzl", "local_cuda_repository")

def _maybe(repo_rule, name, **kwargs):
    if not native.existing_rule(name):
        repo_rule(name = name, **kwargs)

def sluice_toolchain_standins():
    """Offline stand-ins for repositories Bazel 4.2.3 itself would download.

    @rules_cc, @rules_java and @remote_coverage_tools come from
    third_party/standins; @platforms from Debian's bazel-platforms package.
    """
    _maybe(standin_repository, "rules_cc", dir = "rules_cc")
    _maybe(standin_repository, "rules_java", dir = "rules_java")
    _maybe(standin_repository, "remote_coverage_tools", dir = "remote_coverage_tools")
    _maybe(native.local_repository, "platforms", path = "/usr/share/bazel/tools/platforms")

def sluice_deps(standins = True):
    """Defines every repository sluice's BUILD files use.

    Args:
      standins: also call sluice_toolchain_standins() (offline Bazel 4.2.3 needs
        them; pass False if your WORKSPACE gets rules_cc & co. another way).
    """
    if standins:
        sluice_toolchain_standins()

    _maybe(absl_repository, "absl")

    _maybe(
        native.new_local_repository,
        "eigen",
        path = "/usr/include/eigen3",
        # A string for this native rule; str(Label) keeps it relative to this repo.
        build_file = str(Label("//third_party:eigen.BUILD")),
    )

    _maybe(
        system_library_repository,
        "glog",
        archives = [],
        build_file = Label("//third_party:glog.BUILD"),
    )

    _maybe(
        system_library_repository,
        "gtest",
        # Debian ships GoogleTest only as static archives.
        archives = ["libgtest.a", "libgtest_main.a", "libgmock.a", "libgmock_main.a"],
        build_file = Label("//third_party:gtest.BUILD"),
    )

    _maybe(
        system_library_repository,
        "benchmark",
        archives = ["libbenchmark_main.a"],
        build_file = Label("//third_party:benchmark.BUILD"),
    )

    _maybe(local_cuda_repository, "local_cuda")

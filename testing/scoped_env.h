// An environment variable set for a scope: the previous value (or its
// absence) comes back on destruction. For tests of settings that are read
// from the environment, such as SLUICE_CUDA_EMIT.
#ifndef SLUICE_TESTING_SCOPED_ENV_H_
#define SLUICE_TESTING_SCOPED_ENV_H_

#include <cstdlib>
#include <optional>
#include <string>

namespace sluice::testing {

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_.has_value()) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace sluice::testing

#endif  // SLUICE_TESTING_SCOPED_ENV_H_

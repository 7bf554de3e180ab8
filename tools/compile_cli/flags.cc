#include "tools/compile_cli/flags.h"

#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sluice::tools {

void FlagSet::AddString(std::string name, std::string* value, std::string help,
                        std::string value_name) {
  Flag f{std::move(name), std::move(help), std::move(value_name), false,
         value->empty() ? "" : *value, nullptr};
  f.set = [value](absl::string_view v) {
    *value = std::string(v);
    return absl::OkStatus();
  };
  flags_.push_back(std::move(f));
}

void FlagSet::AddBool(std::string name, bool* value, std::string help) {
  Flag f{name, std::move(help), "", true, *value ? "true" : "false", nullptr};
  f.set = [value, name](absl::string_view v) {
    if (v == "true" || v == "1") {
      *value = true;
    } else if (v == "false" || v == "0") {
      *value = false;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " takes true or false, got '", v, "'"));
    }
    return absl::OkStatus();
  };
  flags_.push_back(std::move(f));
}

void FlagSet::AddInt(std::string name, int64_t* value, std::string help) {
  Flag f{name, std::move(help), "N", false, absl::StrCat(*value), nullptr};
  f.set = [value, name](absl::string_view v) {
    if (!absl::SimpleAtoi(v, value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " takes an integer, got '", v, "'"));
    }
    return absl::OkStatus();
  };
  flags_.push_back(std::move(f));
}

void FlagSet::AddDouble(std::string name, double* value, std::string help) {
  Flag f{name, std::move(help), "X", false, *value < 0 ? "" : absl::StrCat(*value), nullptr};
  f.set = [value, name](absl::string_view v) {
    if (!absl::SimpleAtod(v, value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " takes a number, got '", v, "'"));
    }
    return absl::OkStatus();
  };
  flags_.push_back(std::move(f));
}

const FlagSet::Flag* FlagSet::Find(absl::string_view name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool FlagSet::WasGiven(absl::string_view name) const {
  for (const std::string& g : given_) {
    if (g == name) return true;
  }
  return false;
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args,
                            std::vector<std::string>* positional) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      for (++i; i < args.size(); ++i) positional->push_back(args[i]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-' || arg == "-") {
      positional->push_back(arg);
      continue;
    }
    absl::string_view body(arg);
    body.remove_prefix(arg[1] == '-' ? 2 : 1);
    std::string name(body.substr(0, body.find('=')));
    const bool has_value = body.find('=') != absl::string_view::npos;
    absl::string_view value = has_value ? body.substr(body.find('=') + 1) : "";
    const Flag* flag = Find(name);
    if (flag == nullptr && !has_value && absl::StartsWith(name, "no")) {
      const Flag* negated = Find(name.substr(2));
      if (negated != nullptr && negated->is_bool) {
        given_.push_back(negated->name);
        if (absl::Status s = negated->set("false"); !s.ok()) return s;
        continue;
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", arg, "' (see --help)"));
    }
    given_.push_back(flag->name);
    if (flag->is_bool && !has_value) {
      if (absl::Status s = flag->set("true"); !s.ok()) return s;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
      value = args[++i];
    }
    if (absl::Status s = flag->set(value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::string FlagSet::Usage() const {
  std::string out;
  for (const Flag& f : flags_) {
    std::string head = absl::StrCat("  --", f.name, f.is_bool ? "" : absl::StrCat("=", f.value_name));
    if (head.size() < 30) head.resize(30, ' ');
    absl::StrAppend(&out, head, " ", f.help);
    if (!f.default_text.empty()) absl::StrAppend(&out, " (default: ", f.default_text, ")");
    absl::StrAppend(&out, "\n");
  }
  return out;
}

std::vector<std::string> SplitList(absl::string_view list) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(list, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

}  // namespace sluice::tools

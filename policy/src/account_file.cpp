// SPDX-License-Identifier: Apache-2.0
// Account files as text. The writer is deliberately plain: one key per line, values as TOML
// basic strings, arrays on one line. Whatever it writes, the CLI parses back with parse_account
// before it is renamed into place, so a mistake here can never become a file suwrap loads.
#include "suwrap/policy/account_file.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace suwrap::policy {

namespace {

bool is_account_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

std::string toml_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ", ";
    out += toml_string(items[i]);
  }
  return out + "]";
}

void write_key(std::string& out, std::string_view key, const std::string& value) {
  out += key;
  out += " = ";
  out += value;
  out += '\n';
}

}  // namespace

std::optional<std::string> account_name_error(std::string_view name) {
  if (name.empty()) return "the account name is empty";
  if (name.front() == '.') return "the account name " + std::string(name) + " starts with '.'";
  // 251 + ".toml" is NAME_MAX: the name must fit a file name.
  if (name.size() > 250) return "the account name is longer than 250 characters";
  if (!std::all_of(name.begin(), name.end(), is_account_name_char))
    return "the account name may hold only letters, digits, '_', '.' and '-'";
  return std::nullopt;
}

std::string toml_string(std::string_view text) {
  static constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          out += "\\u00";
          out += hex[byte >> 4U];
          out += hex[byte & 0xfU];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string account_to_toml(const Account& account) {
  std::string out;
  write_key(out, "user", toml_string(account.user));
  if (account.group) write_key(out, "group", toml_string(*account.group));
  write_key(out, "docroots", toml_array(account.docroots));
  write_key(out, "domains", toml_array(account.domains));
  if (account.php_handler) write_key(out, "php_handler", toml_string(*account.php_handler));
  if (account.handlers) write_key(out, "handlers", toml_array(*account.handlers));
  if (account.php_ini_dir) write_key(out, "php_ini_dir", toml_string(*account.php_ini_dir));
  write_key(out, "disabled", account.disabled ? "true" : "false");

  std::string limits;
  for (const auto& field : limit_fields) {
    if (const auto& value = account.limits.*field.value) write_key(limits, field.key, std::to_string(*value));
  }
  if (!limits.empty()) out += "\n[limits]\n" + limits;
  return out;
}

}  // namespace suwrap::policy

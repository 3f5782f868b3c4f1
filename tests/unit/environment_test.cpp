// SPDX-License-Identifier: Apache-2.0
// The handler's environment (suwrap(8), ENVIRONMENT): the request `request` rule, the allowlist, the
// TZ rule and the environment that is finally built.
#include "suwrap/policy/environment.hpp"

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include <algorithm>

#include <gtest/gtest.h>

namespace {

using suwrap::policy::build_environment;
using suwrap::policy::find_variable;
using suwrap::policy::HandlerEnvironment;
using suwrap::policy::is_passed_through;
using suwrap::policy::is_well_formed;
using suwrap::policy::max_environment_bytes;
using suwrap::policy::max_environment_variables;
using suwrap::policy::validate_environment;

using Env = std::vector<std::string>;

// A test name from a variable name: gtest allows only [A-Za-z0-9_].
std::string test_name_of(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = std::to_string(info.index) + "_";
  for (const char c : info.param) {
    name += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
  }
  return name;
}

// ---- is_passed_through ---------------------------------------------------------------------

// suwrap(8), ENVIRONMENT, written out again here rather than taken from the implementation, so that
// a name dropped from (or added to) the code's list shows up as a failure.
const std::vector<std::string> contract_allowlist = {
    "AUTH_TYPE",       "CONTENT_LENGTH",  "CONTENT_TYPE",          "CONTEXT_DOCUMENT_ROOT",
    "CONTEXT_PREFIX",  "DOCUMENT_ROOT",   "DOCUMENT_URI",          "GATEWAY_INTERFACE",
    "HTTPS",           "PATH_INFO",       "PATH_TRANSLATED",       "QUERY_STRING",
    "REDIRECT_QUERY_STRING", "REDIRECT_URL", "REMOTE_ADDR",        "REMOTE_HOST",
    "REMOTE_IDENT",    "REMOTE_PORT",     "REMOTE_USER",           "REQUEST_METHOD",
    "REQUEST_SCHEME",  "REQUEST_URI",     "SCRIPT_NAME",           "SCRIPT_URI",
    "SCRIPT_URL",      "SERVER_ADDR",     "SERVER_ADMIN",          "SERVER_NAME",
    "SERVER_PORT",     "SERVER_PROTOCOL", "SERVER_SIGNATURE",      "SERVER_SOFTWARE",
    "UNIQUE_ID",       "TZ",
    // Request headers and TLS facts as web servers name them.
    "HTTP_HOST", "HTTP_USER_AGENT", "HTTP_ACCEPT_LANGUAGE", "HTTP_X_FORWARDED_FOR", "HTTP_COOKIE",
    "HTTP_X_1", "HTTP_PROXY_AUTHORIZATION", "HTTP_REDIRECT_STATUS_X", "HTTP_X_PROXY",
    "SSL_PROTOCOL", "SSL_CIPHER", "SSL_CLIENT_S_DN_CN", "SSL_CLIENT_VERIFY",
    // mod_ssl's own mixed-case names.
    "SSL_CLIENT_S_DN_Email", "SSL_CLIENT_SAN_OTHER_msUPN_0",
};

class PassedName : public ::testing::TestWithParam<std::string> {};

TEST_P(PassedName, IsPassedThrough) { EXPECT_TRUE(is_passed_through(GetParam())); }

INSTANTIATE_TEST_SUITE_P(IsPassedThrough, PassedName, ::testing::ValuesIn(contract_allowlist),
                         test_name_of);

// Names that change how the loader, the shell, PHP or an HTTP client library behave, names
// suwrap sets itself, and names no conforming web server produces.
const std::vector<std::string> hostile_names = {
    "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "GCONV_PATH", "LOCPATH", "NLSPATH",
    "HOSTALIASES", "RESOLV_HOST_CONF", "MALLOC_CHECK_", "GLIBC_TUNABLES",
    "PHPRC", "PHP_VALUE", "PHP_ADMIN_VALUE", "PHP_INI_SCAN_DIR",
    "HTTP_PROXY", "HTTP_REDIRECT_STATUS", "http_proxy", "HTTPS_PROXY", "ALL_PROXY",
    "SUWRAP_HANDLER", "SUWRAP_CONFIG", "SUWRAP_",
    "PATH", "SCRIPT_FILENAME", "REDIRECT_STATUS", "HOME", "USER", "LOGNAME",
    "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "PS4", "BASH_FUNC_x%%", "BASH_FUNC_x()",
    "HTTP_X-Y", "HTTP_x", "HTTP_X.Y", "HTTP_X Y", "HTTP_", "HTTP", "SSL_", "SSL_X-Y", "SSL_X.Y",
    "TMPDIR", "PERL5LIB", "PERL5OPT", "PYTHONPATH", "RUBYOPT", "NODE_OPTIONS",
    "auth_type", "Query_String", "QUERY_STRING ", " QUERY_STRING", "TZ2", "",
};

class HostileName : public ::testing::TestWithParam<std::string> {};

TEST_P(HostileName, IsNotPassedThrough) { EXPECT_FALSE(is_passed_through(GetParam())); }

INSTANTIATE_TEST_SUITE_P(IsPassedThrough, HostileName, ::testing::ValuesIn(hostile_names),
                         test_name_of);

TEST(IsPassedThrough, SuwrapsOwnNamesCanNeverComeFromTheRequest) {
  for (const char* name : {"PATH", "SCRIPT_FILENAME", "REDIRECT_STATUS", "PHPRC", "HOME", "USER",
                           "LOGNAME"}) {
    EXPECT_FALSE(is_passed_through(name)) << name;
  }
}

// ---- is_well_formed ------------------------------------------------------------------------

TEST(IsWellFormed, PlainZoneNamesAreAccepted) {
  for (const char* zone : {"UTC", "Europe/Paris", "America/Argentina/Buenos_Aires", "Etc/GMT+5",
                           "Etc/GMT-14", "America/Port-au-Prince", "EST5EDT", "Zulu"}) {
    EXPECT_TRUE(is_well_formed("TZ", zone)) << zone;
  }
  EXPECT_TRUE(is_well_formed("TZ", std::string(64, 'A')));
}

TEST(IsWellFormed, AnythingButAPlainZoneNameIsRefused) {
  for (const char* zone :
       {"", "/etc/shadow", ":/etc/localtime", ":Europe/Paris", "../../../tmp/zone", "Europe/../x",
        "./UTC", "Europe/Paris/", "Europe//Paris", "EST5EDT,M3.2.0,M11.1.0", "UTC ", "Europe\\Paris",
        "Europe/Paris;id", "Europe/Pa\xc3\xa9ris", "$HOME"}) {
    EXPECT_FALSE(is_well_formed("TZ", zone)) << zone;
  }
  EXPECT_FALSE(is_well_formed("TZ", std::string(65, 'A')));
}

TEST(IsWellFormed, OtherNamesTakeAnyValue) {
  EXPECT_TRUE(is_well_formed("QUERY_STRING", "../../etc/passwd;$(id)"));
  EXPECT_TRUE(is_well_formed("HTTP_USER_AGENT", ""));
  EXPECT_TRUE(is_well_formed("TZX", "/etc/shadow"));
}

// ---- validate_environment ------------------------------------------------------------------

TEST(ValidateEnvironment, AcceptsAnOrdinaryRequest) {
  const Env env = {"REQUEST_METHOD=GET", "QUERY_STRING=a=b&c=d", "HTTP_HOST=example.org",
                   "CONTENT_LENGTH=", "LD_PRELOAD=/tmp/x.so"};
  EXPECT_EQ(validate_environment(env), std::nullopt);
  EXPECT_EQ(validate_environment(Env{}), std::nullopt);
}

TEST(ValidateEnvironment, RefusesALineBreakOrNulAndNamesTheVariable) {
  for (const std::string& entry :
       {std::string("QUERY_STRING=a\nb"), std::string("QUERY_STRING=a\rb"),
        std::string("QUERY_STRING=a\0b", 16), std::string("QUERY_STRING=\n")}) {
    const auto reason = validate_environment(Env{"REQUEST_METHOD=GET", entry});
    ASSERT_TRUE(reason.has_value()) << entry;
    EXPECT_NE(reason->find("QUERY_STRING"), std::string::npos) << *reason;
  }
}

TEST(ValidateEnvironment, RefusesALineBreakOrNulInTheName) {
  EXPECT_TRUE(validate_environment(Env{"QUERY\nSTRING=a"}).has_value());
  EXPECT_TRUE(validate_environment(Env{std::string("QUERY\0STRING=a", 14)}).has_value());
}

TEST(ValidateEnvironment, RefusesAnEntryWithoutEquals) {
  const auto reason = validate_environment(Env{"REQUEST_METHOD=GET", "QUERY_STRING"});
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("QUERY_STRING"), std::string::npos) << *reason;
}

TEST(ValidateEnvironment, RefusesAnEmptyName) {
  EXPECT_TRUE(validate_environment(Env{"=value"}).has_value());
  EXPECT_TRUE(validate_environment(Env{"="}).has_value());
  EXPECT_TRUE(validate_environment(Env{""}).has_value());
}

TEST(ValidateEnvironment, RefusesANameGivenTwice) {
  const auto reason =
      validate_environment(Env{"SCRIPT_FILENAME=/var/www/a.php", "HTTP_HOST=x", "SCRIPT_FILENAME=/etc/shadow"});
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("SCRIPT_FILENAME"), std::string::npos) << *reason;
  EXPECT_TRUE(validate_environment(Env{"A=1", "A=1"}).has_value());
  // A name that is a prefix of another is a different name.
  EXPECT_EQ(validate_environment(Env{"A=1", "AB=1", "A_=1"}), std::nullopt);
}

Env numbered_variables(std::size_t count) {
  Env env;
  for (std::size_t i = 0; i < count; ++i) env.push_back("V" + std::to_string(i) + "=x");
  return env;
}

TEST(ValidateEnvironment, AcceptsExactlyTheMaximumNumberOfVariables) {
  ASSERT_EQ(max_environment_variables, 512U);
  EXPECT_EQ(validate_environment(numbered_variables(512)), std::nullopt);
}

TEST(ValidateEnvironment, RefusesOneVariableMoreThanTheMaximum) {
  const auto reason = validate_environment(numbered_variables(513));
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("513"), std::string::npos) << *reason;
}

// One variable whose entry, with its terminating NUL, takes `bytes` bytes.
std::string entry_of_size(std::string_view name, std::size_t bytes) {
  const std::size_t value_size = bytes - 1 - name.size() - 1;
  return std::string(name) + "=" + std::string(value_size, 'x');
}

TEST(ValidateEnvironment, AcceptsExactlyTheByteBound) {
  ASSERT_EQ(max_environment_bytes, 256U * 1024U);
  EXPECT_EQ(validate_environment(Env{entry_of_size("QUERY_STRING", max_environment_bytes)}),
            std::nullopt);
  // Spread over many entries, each counted with its NUL.
  Env many = numbered_variables(500);  // "V0=x".."V499=x"
  std::size_t used = 0;
  for (const auto& e : many) used += e.size() + 1;
  many.push_back(entry_of_size("QUERY_STRING", max_environment_bytes - used));
  EXPECT_EQ(validate_environment(many), std::nullopt);
  many.back() += "x";
  EXPECT_TRUE(validate_environment(many).has_value());
}

TEST(ValidateEnvironment, RefusesOneByteMoreThanTheBound) {
  const auto reason =
      validate_environment(Env{entry_of_size("QUERY_STRING", max_environment_bytes + 1)});
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find(std::to_string(max_environment_bytes)), std::string::npos) << *reason;
}

TEST(ValidateEnvironment, ReasonNeverEchoesAHugeOrHostileName) {
  const std::string huge_name(100'000, 'N');
  const auto no_equals = validate_environment(Env{huge_name});
  ASSERT_TRUE(no_equals.has_value());
  EXPECT_LT(no_equals->size(), 200U);

  const auto twice = validate_environment(Env{huge_name + "=1", huge_name + "=2"});
  ASSERT_TRUE(twice.has_value());
  EXPECT_LT(twice->size(), 200U);

  // A value is never echoed at all.
  const auto with_value = validate_environment(Env{"QUERY_STRING=secret-token\nX"});
  ASSERT_TRUE(with_value.has_value());
  EXPECT_EQ(with_value->find("secret-token"), std::string::npos) << *with_value;

  // A name's control bytes do not reach the reason raw.
  const auto control = validate_environment(Env{"BAD\x1b[2J\rNAME=1"});
  ASSERT_TRUE(control.has_value());
  for (const char c : *control) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20) << *control;
    EXPECT_NE(c, '\x7f');
  }
}

// ---- build_environment ---------------------------------------------------------------------

// What nginx (via suwrap-cgid) might send, with a few hostile additions.
const Env request_environment = {
    "GATEWAY_INTERFACE=CGI/1.1",
    "REQUEST_METHOD=POST",
    "QUERY_STRING=-s&x=1",
    "LD_PRELOAD=/tmp/evil.so",
    "SCRIPT_FILENAME=/home/alice/public_html/index.php",
    "PATH=/tmp/evil",
    "PHPRC=/tmp/evil.ini",
    "PHP_VALUE=auto_prepend_file=/tmp/x",
    "REDIRECT_STATUS=1",
    "HTTP_REDIRECT_STATUS=200",
    "HTTP_PROXY=http://attacker:8080",
    "HTTP_HOST=alice.example",
    "http_x_lower=1",
    "HOME=/root",
    "USER=root",
    "TZ=/etc/shadow",
    "SSL_PROTOCOL=TLSv1.3",
    "SUWRAP_HANDLER=php",
    "CONTENT_LENGTH=5",
};

TEST(BuildEnvironment, PhpHandlerGetsExactlyTheAllowedVariablesThenSuwrapsOwn) {
  HandlerEnvironment set;
  set.safe_path = "/usr/local/bin:/usr/bin:/bin";
  set.script_filename = "/home/alice/public_html/index.php";
  set.php = true;
  set.phprc = "/etc/php/8.2/cgi/php.ini";
  set.home = "/home/alice";
  set.user = "alice";

  const Env expected = {
      "GATEWAY_INTERFACE=CGI/1.1",
      "REQUEST_METHOD=POST",
      "QUERY_STRING=-s&x=1",
      "HTTP_HOST=alice.example",
      "SSL_PROTOCOL=TLSv1.3",
      "CONTENT_LENGTH=5",
      "PATH=/usr/local/bin:/usr/bin:/bin",
      "SCRIPT_FILENAME=/home/alice/public_html/index.php",
      "PATH_TRANSLATED=/home/alice/public_html/index.php",
      "REDIRECT_STATUS=200",
      "PHPRC=/etc/php/8.2/cgi/php.ini",
      "HOME=/home/alice",
      "USER=alice",
      "LOGNAME=alice",
  };
  EXPECT_EQ(build_environment(request_environment, set), expected);
}

// php-cgi runs PATH_TRANSLATED instead of SCRIPT_FILENAME when they differ and
// REDIRECT_URL is set: a caller could otherwise have any file run as the account.
TEST(BuildEnvironment, PhpHandlerGetsTheCheckedScriptAsPathTranslated) {
  HandlerEnvironment set;
  set.safe_path = "/usr/bin";
  set.script_filename = "/home/alice/public_html/index.php";
  set.php = true;
  set.phprc = "/etc/php/8.2/cgi/php.ini";
  set.home = "/home/alice";
  set.user = "alice";
  const Env request = {"PATH_TRANSLATED=/tmp/evil.php", "REDIRECT_URL=/x"};
  const Env built = build_environment(request, set);
  EXPECT_EQ(std::count(built.begin(), built.end(), "PATH_TRANSLATED=/home/alice/public_html/index.php"), 1);
  for (const auto& e : built) EXPECT_NE(e, "PATH_TRANSLATED=/tmp/evil.php");

  set.php = false;  // a CGI program gets PATH_TRANSLATED as the request gave it
  const Env cgi = build_environment(request, set);
  EXPECT_EQ(std::count(cgi.begin(), cgi.end(), "PATH_TRANSLATED=/tmp/evil.php"), 1);
}

TEST(BuildEnvironment, CgiHandlerGetsNoPhpVariables) {
  HandlerEnvironment set;
  set.safe_path = "/usr/bin:/bin";
  set.script_filename = "/var/www/cgi-bin/hello.cgi";
  set.php = false;
  set.phprc = "/ignored/php.ini";
  set.home = "/home/bob";
  set.user = "bob";

  const Env request = {"REQUEST_METHOD=GET", "TZ=Europe/Paris", "QUERY_STRING=",
                       "REDIRECT_STATUS=200", "HTTP_ACCEPT=*/*"};
  const Env expected = {
      "REQUEST_METHOD=GET",
      "TZ=Europe/Paris",
      "QUERY_STRING=",
      "HTTP_ACCEPT=*/*",
      "PATH=/usr/bin:/bin",
      "SCRIPT_FILENAME=/var/www/cgi-bin/hello.cgi",
      "HOME=/home/bob",
      "USER=bob",
      "LOGNAME=bob",
  };
  EXPECT_EQ(build_environment(request, set), expected);
}

TEST(BuildEnvironment, EachOfSuwrapsNamesAppearsOnceWithSuwrapsValue) {
  HandlerEnvironment set;
  set.safe_path = "/usr/bin";
  set.script_filename = "/var/www/a.php";
  set.php = true;
  set.phprc = "/etc/php/php.ini";
  set.home = "/home/carol";
  set.user = "carol";

  const Env built = build_environment(request_environment, set);
  for (const std::string_view name :
       {"PATH", "SCRIPT_FILENAME", "REDIRECT_STATUS", "PHPRC", "HOME", "USER", "LOGNAME"}) {
    std::size_t count = 0;
    for (const auto& entry : built) {
      if (entry.starts_with(std::string(name) + "=")) ++count;
    }
    EXPECT_EQ(count, 1U) << name;
  }
  EXPECT_EQ(find_variable(built, "PATH"), "/usr/bin");
  EXPECT_EQ(find_variable(built, "PHPRC"), "/etc/php/php.ini");
  EXPECT_EQ(find_variable(built, "REDIRECT_STATUS"), "200");
  EXPECT_EQ(find_variable(built, "LD_PRELOAD"), std::nullopt);
  EXPECT_EQ(find_variable(built, "PHP_VALUE"), std::nullopt);
  EXPECT_EQ(find_variable(built, "HTTP_PROXY"), std::nullopt);
  EXPECT_EQ(find_variable(built, "HTTP_REDIRECT_STATUS"), std::nullopt);
  EXPECT_EQ(find_variable(built, "SUWRAP_HANDLER"), std::nullopt);
  EXPECT_EQ(find_variable(built, "TZ"), std::nullopt);
}

TEST(BuildEnvironment, DropsMalformedEntriesEvenIfNotValidatedFirst) {
  const Env request = {"QUERY_STRING", "=x", "HTTP_A=1\n", std::string("HTTP_B=a\0b", 10),
                       "HTTP_C=ok"};
  HandlerEnvironment set;
  const Env built = build_environment(request, set);
  ASSERT_FALSE(built.empty());
  EXPECT_EQ(built.front(), "HTTP_C=ok");
  EXPECT_EQ(built[1], "PATH=");
}

// ---- find_variable -------------------------------------------------------------------------

TEST(FindVariable, ComparesTheWholeNameUpToTheFirstEquals) {
  const Env env = {"QUERY_STRING_X=no", "QUERY_STRING=a=b", "EMPTY=", "NOEQUALS"};
  EXPECT_EQ(find_variable(env, "QUERY_STRING"), "a=b");
  EXPECT_EQ(find_variable(env, "QUERY"), std::nullopt);
  EXPECT_EQ(find_variable(env, "EMPTY"), "");
  EXPECT_EQ(find_variable(env, "NOEQUALS"), std::nullopt);
  EXPECT_EQ(find_variable(env, "MISSING"), std::nullopt);
  EXPECT_EQ(find_variable(env, ""), std::nullopt);
}

}  // namespace

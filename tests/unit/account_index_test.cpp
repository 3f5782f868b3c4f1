// SPDX-License-Identifier: Apache-2.0
// The account index as text (account_index.hpp): what is written is what the binary search
// finds, however many lines there are, and anything that is not a whole, well-formed index
// is never taken for one. And the scope of a broken account file (accounts.hpp).
#include "suwrap/config/account_index.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "suwrap/config/accounts.hpp"

namespace {

using suwrap::policy::decode_index_field;
using suwrap::policy::encode_index_field;
using suwrap::policy::FileStamp;
using suwrap::policy::index_in_memory;
using suwrap::policy::index_text;
using suwrap::policy::IndexedFile;
using suwrap::policy::IndexHeader;
using suwrap::policy::IndexReader;

IndexedFile file(std::string name, std::vector<std::string> users, std::vector<std::string> docroots,
                 bool valid = true) {
  IndexedFile f;
  f.name = std::move(name);
  f.stamp = FileStamp{1, 2, 3, 4, 5};
  f.valid = valid;
  f.users = std::move(users);
  f.docroots = std::move(docroots);
  return f;
}

IndexHeader header() {
  IndexHeader h;
  h.accounts_dir = "/etc/suwrap/accounts.d";
  h.dir = FileStamp{9, 8, 7, 6, 5};
  h.built_ns = 42;
  h.racy = false;
  return h;
}

IndexReader reader_of(const std::vector<IndexedFile>& files) {
  return IndexReader(index_in_memory(index_text(header(), files)));
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(IndexField, EncodesWhatWouldBreakALineAndDecodesItBack) {
  EXPECT_EQ(encode_index_field("/srv/a b/%x\t\n"), "/srv/a%20b/%25x%09%0A");
  for (const std::string& text : std::vector<std::string>{"/srv/a b/%x\t\n", "alice", std::string("\x01\xff", 2), ""})
    EXPECT_EQ(decode_index_field(encode_index_field(text)), text);
  EXPECT_EQ(decode_index_field("%4"), std::nullopt);
  EXPECT_EQ(decode_index_field("%zz"), std::nullopt);
  EXPECT_EQ(decode_index_field("a b"), std::nullopt);
}

TEST(IndexReader, FindsEachFileByTheUserItNamesAndTheDocrootsItHolds) {
  auto reader = reader_of({file("alice.toml", {"alice"}, {"/home/alice/public_html", "/srv/alice"}),
                           file("bob.toml", {"bob"}, {"/home/bob/public_html"}),
                           file("bob2.toml", {"bob"}, {"/srv/bob shop"})});
  ASSERT_TRUE(reader.header().has_value());
  EXPECT_EQ(reader.header()->accounts_dir, "/etc/suwrap/accounts.d");
  EXPECT_EQ(reader.header()->dir, (FileStamp{9, 8, 7, 6, 5}));
  EXPECT_EQ(reader.header()->built_ns, 42);
  EXPECT_FALSE(reader.header()->racy);
  EXPECT_EQ(reader.files_naming("alice"), (std::vector<std::string>{"alice.toml"}));
  EXPECT_EQ(reader.files_naming("bob"), (std::vector<std::string>{"bob.toml", "bob2.toml"}));
  EXPECT_EQ(reader.files_naming("carol"), (std::vector<std::string>{}));
  EXPECT_EQ(reader.files_naming("ali"), (std::vector<std::string>{})) << "a prefix of a user is no user";
  EXPECT_EQ(reader.files_holding("/srv/alice"), (std::vector<std::string>{"alice.toml"}));
  EXPECT_EQ(reader.files_holding("/srv/bob shop"), (std::vector<std::string>{"bob2.toml"}));
  EXPECT_EQ(reader.files_holding("/srv"), (std::vector<std::string>{}));
  const auto below = reader.docroots_below("/home");
  ASSERT_TRUE(below.has_value());
  EXPECT_EQ(below->size(), 2U);
  EXPECT_EQ((*below)[0], (std::pair<std::string, std::string>{"/home/alice/public_html", "alice.toml"}));
}

TEST(IndexReader, ABrokenFileOfWhichNothingCanBeReadMayGovernAnything) {
  auto reader = reader_of({file("alice.toml", {"alice"}, {"/srv/alice"}),
                           file("garbage.toml", {}, {}, false),
                           file("halfway.toml", {"carol"}, {}, false)});
  EXPECT_EQ(reader.files_of_unknown_scope(true), (std::vector<std::string>{"garbage.toml"}));
  EXPECT_EQ(sorted(*reader.files_of_unknown_scope(false)),
            (std::vector<std::string>{"garbage.toml", "halfway.toml"}));
  EXPECT_EQ(reader.files_naming("carol"), (std::vector<std::string>{"halfway.toml"}));
}

TEST(IndexReader, ReadsBackEveryFileAsWritten) {
  const std::vector<IndexedFile> files{file("a.toml", {"alice"}, {"/srv/a", "/srv/b"}),
                                       file("b.toml", {}, {}, false)};
  auto reader = reader_of(files);
  auto back = reader.files();
  ASSERT_TRUE(back.has_value()) << back.error();
  ASSERT_EQ(back->size(), 2U);
  EXPECT_EQ((*back)[0].name, "a.toml");
  EXPECT_EQ((*back)[0].stamp, (FileStamp{1, 2, 3, 4, 5}));
  EXPECT_TRUE((*back)[0].valid);
  EXPECT_EQ((*back)[0].users, (std::vector<std::string>{"alice"}));
  EXPECT_EQ(sorted((*back)[0].docroots), (std::vector<std::string>{"/srv/a", "/srv/b"}));
  EXPECT_FALSE((*back)[1].valid);
}

TEST(IndexReader, TakesNothingThatIsNotAWholeIndexForOne) {
  const std::string text = index_text(header(), {file("a.toml", {"alice"}, {"/srv/a"})});
  // Cut short anywhere: no header (the trailer is gone), and files() fails.
  for (std::size_t cut = 0; cut < text.size(); cut += 7) {
    IndexReader reader(index_in_memory(text.substr(0, cut)));
    EXPECT_FALSE(reader.header().has_value()) << "cut at " << cut;
    EXPECT_FALSE(reader.files().has_value()) << "cut at " << cut;
  }
  IndexReader other(index_in_memory("#suwrap-accounts-index\t2\tx\t1 2 3 4 5\t1\t0\n~end\t0\n"));
  EXPECT_FALSE(other.header().has_value()) << "another version";
  IndexReader unsorted(index_in_memory(
      "#suwrap-accounts-index\t1\t/a\t1 2 3 4 5\t1\t0\nu\tzed\ta.toml\nf\ta.toml\t1 2 3 4 5\tvalid\t0\n~end\t2\n"));
  EXPECT_FALSE(unsorted.files().has_value());
}

// Many files, looked up by binary search, find exactly what a scan of the list finds.
TEST(IndexReader, TheBinarySearchFindsWhatAScanFinds) {
  std::mt19937 random(12);
  std::vector<IndexedFile> files;
  std::map<std::string, std::set<std::string>> by_user;
  std::map<std::string, std::set<std::string>> by_docroot;
  for (int i = 0; i < 5000; ++i) {
    const std::string name = "acct" + std::to_string(i) + ".toml";
    const std::string user = "u" + std::to_string(random() % 3000);
    std::vector<std::string> docroots;
    for (unsigned d = 0; d <= random() % 3; ++d)
      docroots.push_back("/srv/" + std::to_string(random() % 4000) + (d == 1 ? "/site" : ""));
    by_user[user].insert(name);
    for (const auto& docroot : docroots) by_docroot[docroot].insert(name);
    files.push_back(file(name, {user}, docroots));
  }
  auto reader = reader_of(files);
  for (int probe = 0; probe < 400; ++probe) {
    const std::string user = "u" + std::to_string(random() % 3100);
    const auto found = reader.files_naming(user);
    ASSERT_TRUE(found.has_value());
    const std::set<std::string> got(found->begin(), found->end());
    EXPECT_EQ(got, by_user[user]) << user;
    const std::string docroot = "/srv/" + std::to_string(random() % 4100);
    const auto holding = reader.files_holding(docroot);
    ASSERT_TRUE(holding.has_value());
    EXPECT_EQ(std::set<std::string>(holding->begin(), holding->end()), by_docroot[docroot]) << docroot;
  }
}

TEST(ScopeOfUnparsed, ReadsUsersAndDocrootsFromAFileThatDoesNotParse) {
  std::vector<std::string> users;
  std::vector<std::string> docroots;
  suwrap::policy::scope_of_unparsed(
      "user = \"alice\"\ndisabled = tru\ndocroots = [\"/srv/a\",\n  '/srv/b', \"relative\", \"/srv/c\\\\d\"]\n",
      users, docroots);
  EXPECT_EQ(users, (std::vector<std::string>{"alice"}));
  EXPECT_EQ(docroots, (std::vector<std::string>{"/srv/a", "/srv/b"}));

  users.clear();
  docroots.clear();
  suwrap::policy::scope_of_unparsed("  user=bob # the owner\nuser = \"not a name!\"\n[limits\n", users, docroots);
  EXPECT_EQ(users, (std::vector<std::string>{"bob"}));
  EXPECT_TRUE(docroots.empty());

  users.clear();
  suwrap::policy::scope_of_unparsed("username = \"carol\"\n\"user\" = 3\n", users, docroots);
  EXPECT_TRUE(users.empty());
}

}  // namespace

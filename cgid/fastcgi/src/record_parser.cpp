// SPDX-License-Identifier: Apache-2.0
#include "suwrap/fastcgi/record_parser.hpp"

#include <algorithm>

namespace suwrap::fastcgi {

void RecordParser::start_record() {
  if (header_[0] != protocol_version) {
    stage_ = Stage::failed;
    error_ = {Violation::bad_version,
              "record header has version " + std::to_string(header_[0]) + ", expected 1"};
    return;
  }
  type_ = header_[1];
  request_id_ = static_cast<std::uint16_t>((header_[2] << 8) | header_[3]);
  content_length_ = static_cast<std::size_t>((header_[4] << 8) | header_[5]);
  padding_left_ = header_[6];
  // header_[7] is reserved: ignored, as the specification asks of receivers.
  header_filled_ = 0;
  content_.clear();
  stage_ = Stage::content;
}

RecordParser::Status RecordParser::consume(std::string_view& input) {
  while (true) {
    switch (stage_) {
      case Stage::failed: return Status::error;

      case Stage::padding: {
        const std::size_t skipped = std::min(padding_left_, input.size());
        input.remove_prefix(skipped);
        padding_left_ -= skipped;
        if (padding_left_ > 0) return Status::need_more;
        stage_ = Stage::header;
        break;
      }

      case Stage::header: {
        if (input.empty()) return Status::need_more;
        const std::size_t taken = std::min(header_size - header_filled_, input.size());
        std::copy_n(input.begin(), taken, header_.begin() + static_cast<std::ptrdiff_t>(header_filled_));
        header_filled_ += taken;
        input.remove_prefix(taken);
        if (header_filled_ < header_size) return Status::need_more;
        start_record();
        break;
      }

      case Stage::content: {
        // The whole content in this chunk and nothing buffered: hand out a view
        // of the caller's bytes instead of copying them.
        if (content_.empty() && input.size() >= content_length_) {
          record_ = {type_, request_id_, input.substr(0, content_length_)};
          input.remove_prefix(content_length_);
        } else {
          const std::size_t taken = std::min(content_length_ - content_.size(), input.size());
          content_.append(input.substr(0, taken));
          input.remove_prefix(taken);
          if (content_.size() < content_length_) return Status::need_more;
          record_ = {type_, request_id_, content_};
        }
        stage_ = padding_left_ > 0 ? Stage::padding : Stage::header;
        return Status::record;
      }
    }
  }
}

}  // namespace suwrap::fastcgi

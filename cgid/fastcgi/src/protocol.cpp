// SPDX-License-Identifier: Apache-2.0
#include "suwrap/fastcgi/protocol.hpp"

namespace suwrap::fastcgi {

std::string_view to_string(Violation violation) noexcept {
  switch (violation) {
    case Violation::bad_version: return "bad_version";
    case Violation::unexpected_record_type: return "unexpected_record_type";
    case Violation::zero_request_id: return "zero_request_id";
    case Violation::nonzero_request_id: return "nonzero_request_id";
    case Violation::malformed_record: return "malformed_record";
    case Violation::request_id_busy: return "request_id_busy";
    case Violation::request_not_active: return "request_not_active";
    case Violation::stream_out_of_order: return "stream_out_of_order";
    case Violation::params_too_large: return "params_too_large";
    case Violation::too_many_params: return "too_many_params";
    case Violation::params_truncated: return "params_truncated";
    case Violation::internal_error: return "internal_error";
  }
  return "unknown";
}

std::string_view to_string(RecordType type) noexcept {
  switch (type) {
    case RecordType::begin_request: return "FCGI_BEGIN_REQUEST";
    case RecordType::abort_request: return "FCGI_ABORT_REQUEST";
    case RecordType::end_request: return "FCGI_END_REQUEST";
    case RecordType::params: return "FCGI_PARAMS";
    case RecordType::stdin_stream: return "FCGI_STDIN";
    case RecordType::stdout_stream: return "FCGI_STDOUT";
    case RecordType::stderr_stream: return "FCGI_STDERR";
    case RecordType::data: return "FCGI_DATA";
    case RecordType::get_values: return "FCGI_GET_VALUES";
    case RecordType::get_values_result: return "FCGI_GET_VALUES_RESULT";
    case RecordType::unknown_type: return "FCGI_UNKNOWN_TYPE";
  }
  return "unknown";
}

}  // namespace suwrap::fastcgi

"""The definitions printed under every report (Vietnamese, for the reader upstairs)."""

NOTES = (
    "Tin nhắn: mọi tin người dân gửi tới trợ lý trên các kênh "
    "(số cá nhân đã được ẩn trước khi lưu).",
    "Câu hỏi: tin nhắn trợ lý phải trả lời (không tính lệnh đăng ký/hủy, ảnh, nhãn dán, tin gửi "
    "quá nhanh và tin gửi cán bộ trong cuộc trò chuyện đã chuyển).",
    "Đã trả lời: trợ lý trả lời từ thủ tục, câu hỏi thường gặp, kế hoạch hoặc "
    "đường dây nóng đã công bố.",
    "Hỏi lại làm rõ: trợ lý đưa các thủ tục gần đúng để người dân chọn.",
    "Chưa trả lời được: không tìm thấy thông tin phù hợp, tin quá dài hoặc lỗi hệ thống.",
    "Khác: chào hỏi, câu hỏi ngoài phạm vi thủ tục hành chính, đề nghị gặp cán bộ.",
    "Lượt giới thiệu DVC trực tuyến: câu trả lời có giới thiệu dịch vụ công trực tuyến "
    "(toàn trình hoặc một phần) kèm liên kết.",
    "Lượt bấm liên kết DVC: số lần người dân mở liên kết dịch vụ công trực tuyến do trợ lý gửi "
    "(không tính máy tạo bản xem trước liên kết của nền tảng).",
    "Chuyển cán bộ: số cuộc trò chuyện được chuyển cho cán bộ trả lời trực tiếp.",
)

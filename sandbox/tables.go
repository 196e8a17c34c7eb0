package sandbox

// Read-only tables the generator draws from. They are never written after initialisation.

// area is a county-level administrative division (GB/T 2260) with the branch that serves it.
type area struct {
	code, branch string
}

var areas = []area{
	{"110105", "沙盒银行北京朝阳支行"},
	{"310104", "沙盒银行上海徐汇支行"},
	{"440305", "沙盒银行深圳南山支行"},
	{"330106", "沙盒银行杭州西湖支行"},
	{"510107", "沙盒银行成都武侯支行"},
	{"420106", "沙盒银行武汉武昌支行"},
	{"320102", "沙盒银行南京玄武支行"},
	{"370202", "沙盒银行青岛市南支行"},
	{"610113", "沙盒银行西安雁塔支行"},
	{"430104", "沙盒银行长沙岳麓支行"},
}

var (
	surnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",
		"徐", "孙", "马", "朱", "胡", "郭", "何", "林", "高", "罗"}
	givenMale = []string{"伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超",
		"浩", "宇", "俊", "鹏", "辉", "志", "建", "文", "斌", "晨"}
	givenFemale = []string{"芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "婷", "雪",
		"慧", "颖", "琳", "晶", "欣", "怡", "佳", "悦", "萍", "倩"}
)

// mobilePrefixes are three-digit prefixes of mainland mobile numbers.
var mobilePrefixes = []string{"130", "131", "132", "133", "135", "136", "137", "138", "139",
	"150", "151", "152", "153", "155", "156", "157", "158", "159", "166", "177", "180", "181",
	"182", "183", "185", "186", "187", "188", "189", "198", "199"}

// otherBankBINs are fictional BINs of other demo banks, for counterparty cards.
var otherBankBINs = []string{"621888", "622888", "623888", "625888"}

// Sandbox Bank's own fictional BINs.
const (
	binDebit   = "621999"
	binSavings = "622999"
	binCredit  = "625999"
)

// Merchant pools by kind of spending; each merchant gets a corporate account when first used.
const (
	poolSupermarket = "supermarket"
	poolDining      = "dining"
	poolOnline      = "online"
	poolTelecom     = "telecom"
	poolTransport   = "transport"
	poolUtility     = "utility"
	poolEmployer    = "employer"
	poolFuel        = "fuel"
	poolTravel      = "travel"
	poolWealth      = "wealth"
	poolBank        = "bank"
	poolPerson      = "person" // a private person with a card at another bank
	poolOwn         = "own"    // the holder's own debit card
)

var merchants = map[string][]string{
	poolSupermarket: {"惠民超市有限公司", "鲜丰生活超市", "家乐佳超市连锁有限公司"},
	poolDining:      {"老街面馆", "川味小厨餐饮有限公司", "湘里人家酒楼", "咖啡时光餐饮管理有限公司"},
	poolOnline:      {"云购网络科技有限公司", "速达电商平台有限公司", "优选商城"},
	poolTelecom:     {"移动通信话费充值中心"},
	poolTransport:   {"城市轨道交通有限公司", "畅行出行科技有限公司"},
	poolUtility:     {"城市公用事业缴费中心"},
	poolEmployer:    {"星河软件股份有限公司", "远航物流有限公司", "恒信会计师事务所", "沙盒科技有限公司"},
	poolFuel:        {"顺路加油站"},
	poolTravel:      {"蓝天航空票务中心", "途远旅行社有限公司"},
	poolWealth:      {"沙盒银行理财产品专户"},
	poolBank:        {"沙盒银行"},
}

// kind describes one kind of transaction the generator posts at random.
type kind struct {
	description, direction, channel, pool string
	min, max                              fen
	weight                                int
}

// Transaction channels.
const (
	channelMobile  = "mobile"
	channelOnline  = "online"
	channelPOS     = "pos"
	channelPayroll = "payroll"
	channelAuto    = "auto_debit"
	channelSystem  = "system"
	channelOpenAPI = "open_api"
)

var debitKinds = []kind{
	{"超市购物", directionDebit, channelPOS, poolSupermarket, 15_00, 680_00, 30},
	{"餐饮消费", directionDebit, channelPOS, poolDining, 18_00, 420_00, 22},
	{"网上购物", directionDebit, channelOnline, poolOnline, 9_90, 1500_00, 15},
	{"交通出行", directionDebit, channelMobile, poolTransport, 3_00, 120_00, 8},
	{"话费充值", directionDebit, channelMobile, poolTelecom, 30_00, 200_00, 5},
	{"转账", directionDebit, channelMobile, poolPerson, 100_00, 5000_00, 8},
	{"转账", directionCredit, channelMobile, poolPerson, 100_00, 5000_00, 9},
}

var savingsKinds = []kind{
	{"转账", directionCredit, channelMobile, poolOwn, 500_00, 8000_00, 35},
	{"转账", directionDebit, channelMobile, poolOwn, 200_00, 5000_00, 20},
	{"购买理财", directionDebit, channelOnline, poolWealth, 10000_00, 50000_00, 10},
	{"理财赎回", directionCredit, channelSystem, poolWealth, 10000_00, 52000_00, 10},
	{"转账", directionCredit, channelMobile, poolPerson, 200_00, 6000_00, 10},
}

var creditKinds = []kind{
	{"餐饮消费", directionDebit, channelPOS, poolDining, 18_00, 600_00, 25},
	{"网上购物", directionDebit, channelOnline, poolOnline, 9_90, 2500_00, 25},
	{"超市购物", directionDebit, channelPOS, poolSupermarket, 15_00, 800_00, 20},
	{"加油", directionDebit, channelPOS, poolFuel, 150_00, 500_00, 10},
	{"机票", directionDebit, channelOnline, poolTravel, 480_00, 3200_00, 5},
	{"退货退款", directionCredit, channelOnline, poolOnline, 20_00, 300_00, 3},
}

// catalog is the bank's product shelf. It does not depend on the seed, so documentation and
// examples can name product ids.
func catalog() []product {
	return []product{
		{id: "FND001", name: "沙盒沪深300指数基金", kind: "fund", risk: "R4", issuer: "沙盒基金管理有限公司", status: "on_sale", yieldBP: -1, minAmount: 10_00, nav: 1_2876},
		{id: "FND002", name: "沙盒科技成长混合基金", kind: "fund", risk: "R5", issuer: "沙盒基金管理有限公司", status: "on_sale", yieldBP: -1, minAmount: 100_00, nav: 2_0413},
		{id: "FND003", name: "沙盒纯债债券基金", kind: "fund", risk: "R2", issuer: "沙盒基金管理有限公司", status: "on_sale", yieldBP: -1, minAmount: 10_00, nav: 1_0652},
		{id: "TD1Y01", name: "一年期定期存款", kind: "time_deposit", risk: "R1", issuer: "沙盒银行", status: "on_sale", yieldBP: 135, minAmount: 50_00, termDays: 365},
		{id: "TD3M01", name: "三个月定期存款", kind: "time_deposit", risk: "R1", issuer: "沙盒银行", status: "on_sale", yieldBP: 105, minAmount: 50_00, termDays: 90},
		{id: "TD3Y01", name: "三年期大额存单", kind: "time_deposit", risk: "R1", issuer: "沙盒银行", status: "sold_out", yieldBP: 190, minAmount: 200000_00, termDays: 1095},
		{id: "WMP001", name: "沙盒稳享90天理财", kind: "wealth_management", risk: "R2", issuer: "沙盒理财有限责任公司", status: "on_sale", yieldBP: 285, minAmount: 10000_00, termDays: 90},
		{id: "WMP002", name: "沙盒日日盈现金管理", kind: "wealth_management", risk: "R1", issuer: "沙盒理财有限责任公司", status: "on_sale", yieldBP: 195, minAmount: 1_00},
		{id: "WMP003", name: "沙盒智享一年期理财", kind: "wealth_management", risk: "R3", issuer: "沙盒理财有限责任公司", status: "on_sale", yieldBP: 340, minAmount: 50000_00, termDays: 365},
		{id: "WMP004", name: "沙盒稳健180天理财", kind: "wealth_management", risk: "R2", issuer: "沙盒理财有限责任公司", status: "closed", yieldBP: 310, minAmount: 10000_00, termDays: 180},
	}
}

// exchangeRate is one quote of the (deprecated) exchange-rate API, per 100 units of currency,
// in 1/10000 yuan.
type exchangeRate struct {
	currency, name                          string
	buying, cashBuying, selling, middleRate int64
}

func exchangeRates() []exchangeRate {
	return []exchangeRate{
		{"USD", "美元", 710_2300, 704_4600, 713_2200, 711_9800},
		{"EUR", "欧元", 768_5100, 744_6300, 774_1700, 770_3500},
		{"JPY", "日元", 4_6985, 4_5524, 4_7331, 4_7106},
		{"HKD", "港币", 91_2600, 90_4300, 91_6200, 91_4100},
		{"GBP", "英镑", 902_1500, 874_1000, 908_7700, 905_0600},
	}
}

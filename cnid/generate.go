package cnid

import (
	"fmt"
	"strings"
	"time"
)

// Rand is the only randomness the generators need. *math/rand/v2.Rand and gofakeit's *Faker both
// satisfy it; callers pass a seeded one so that generation is reproducible.
type Rand interface {
	IntN(n int) int
}

// Surnames are common Chinese family names, most frequent first, with a few compound
// (two-character) ones at the end so that generated names exercise multi-rune surnames.
var Surnames = []string{
	"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
	"郭", "何", "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
	"彭", "曾", "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余", "于", "杜", "叶", "程", "魏",
	"苏", "吕", "丁", "任", "卢", "姚", "沈", "钟", "姜", "崔", "谭", "陆", "范", "汪", "廖",
	"欧阳", "司马", "诸葛", "上官", "东方",
}

// givenChars are characters common in given names.
var givenChars = []string{
	"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
	"明", "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "萍", "红", "鹏", "辉", "建",
	"国", "文", "斌", "浩", "宇", "轩", "梓", "涵", "欣", "怡", "晨", "思", "雨", "佳", "子",
	"嘉", "博", "雅", "睿", "泽", "晓", "婷", "雪", "琳", "瑶", "昊", "然", "凯", "琪", "颖",
	"慧", "俊", "峰", "鑫", "波", "宁", "亮", "飞", "志", "海", "春", "兰", "丹", "彬", "倩",
}

// ChineseName returns a surname and a one- or two-character given name.
func ChineseName(r Rand) string {
	// Weight the head of the surname list: the first 20 surnames cover about half the population.
	var s string
	if r.IntN(2) == 0 {
		s = Surnames[r.IntN(20)]
	} else {
		s = Surnames[r.IntN(len(Surnames))]
	}
	g := givenChars[r.IntN(len(givenChars))]
	if r.IntN(10) < 6 {
		g += givenChars[r.IntN(len(givenChars))]
	}
	return s + g
}

// AreaCodes are real six-digit administrative division codes (urban districts of provincial
// capitals and large cities), used as the first six digits of generated resident IDs.
var AreaCodes = []string{
	"110101", "110105", "110108", "120101", "130102", "140105", "150102", "210102", "220102",
	"230102", "310104", "310115", "320102", "320505", "330106", "330212", "340104", "350203",
	"360102", "370202", "370102", "410105", "420106", "430104", "440106", "440305", "450103",
	"460105", "500103", "510107", "520102", "530102", "540102", "610113", "620102", "630102",
	"640104", "650102",
}

// bornFrom and bornDays bound generated birth dates: 1950-01-01 through 2005-12-31.
var bornFrom = time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)

var bornDays = int(time.Date(2005, 12, 31, 0, 0, 0, 0, time.UTC).Sub(bornFrom).Hours()/24) + 1

// ResidentID returns a valid 18-digit resident ID: a real area code, a birth date between 1950
// and 2005, a three-digit sequence whose last digit is odd for men and even for women, and the
// GB 11643 check character.
func ResidentID(r Rand, male bool) string {
	area := AreaCodes[r.IntN(len(AreaCodes))]
	birth := bornFrom.AddDate(0, 0, r.IntN(bornDays)).Format("20060102")
	seq := r.IntN(100)*10 + 2*r.IntN(5)
	if male {
		seq++
	}
	first17 := fmt.Sprintf("%s%s%03d", area, birth, seq)
	c, _ := ResidentIDCheckDigit(first17) // cannot fail: 17 digits by construction
	return first17 + string(c)
}

// CardNumber returns a Luhn-valid card number of the given length starting with bin.
func CardNumber(r Rand, bin string, length int) string {
	var b strings.Builder
	b.WriteString(bin)
	for b.Len() < length-1 {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	s := b.String()
	return s + string(LuhnCheckDigit(s))
}

// Phone returns a mainland mobile number: 1, a digit 3-9, then nine digits.
func Phone(r Rand) string {
	b := []byte{'1', byte('3' + r.IntN(7))}
	for len(b) < 11 {
		b = append(b, byte('0'+r.IntN(10)))
	}
	return string(b)
}

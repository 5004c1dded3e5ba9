#!/usr/bin/env python3
"""Build the tiny StructBERT parity fixture with ModelScope's own code.

Writes ``tests/fixtures/structbert_tiny/`` (ModelScope on-disk layout:
``config.json``, ``configuration.json``, ``pytorch_model.bin``, ``vocab.txt``)
and ``reference_outputs.json`` holding what ModelScope's
``pipeline("zero-shot-classification", model=<dir>)`` returned for a set of
inputs. zeroclass's tests load the same directory with transformers 5 and
must reproduce those numbers.

ModelScope does not run under transformers 5, so run this script in a
throwaway venv OUTSIDE the repo; from the repo root::

    python3.11 -m venv /tmp/msvenv
    /tmp/msvenv/bin/pip install torch==2.13.0          # FIRST: CPU wheel on local disk
    echo torch==2.13.0 > /tmp/ms_constraints.txt       # never let pip move torch
    /tmp/msvenv/bin/pip install -c /tmp/ms_constraints.txt \
        "transformers<5" "modelscope[framework]==1.40.2"
    /tmp/msvenv/bin/python tools/make_modelscope_fixture.py

Versions the committed fixture was made with (Python 3.11.7):
    torch 2.13.0+cpu, transformers 4.57.6, modelscope 1.40.2,
    modelscope-hub 0.5.1, tokenizers 0.22.2, numpy 2.4.6, scipy 1.17.1,
    datasets 4.8.4, huggingface-hub 0.36.2

The script is deterministic (seeded); rerunning it rewrites every fixture
file byte-for-byte (checked, pytorch_model.bin included).
"""
import json
import os
import sys

import torch

SEED = 20240607
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, os.pardir, 'tests', 'fixtures',
                           'structbert_tiny')

SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']

ENGLISH_WORDS = """
the of and to a in is it you that he was for on are with as i his they be at
one have this from or had by not word but what some we can out other were all
there when up use your how said an each she which do their time if will way
about many then them write would like so these her long make thing see him two
has look more day could go come did number sound no most people my over know
water than call first who may down side been now find any new work part take
get place made live where after back little only round man year came show every
good me give our under name very through just form sentence great think say
help low line differ turn cause much mean before move right boy old too same
tell does set three want air well also play small end put home read hand port
large spell add even land here must big high such follow act why ask men change
went light kind off need house picture try us again animal point mother world
near build self earth father head stand own page should country found answer
school grow study still learn plant cover food sun four between state keep eye
never last let thought city tree cross farm hard start might story saw far sea
draw left late run while press close night real life few north open seem
together next white children begin got walk example ease paper group always
music those both mark often letter until mile river car feet care second book
carry took science eat room friend began idea fish mountain stop once base hear
horse cut sure watch color face wood main enough plain girl usual young ready
above ever red list though feel talk bird soon body dog family direct pose
leave song measure door product black short numeral class wind question happen
complete ship area half rock order fire south problem piece told knew pass since
top whole king space heard best hour better true during hundred five remember
step early hold west ground interest reach fast verb sing listen six table
travel less morning ten simple several vowel toward war lay against pattern
slow center love person money serve appear road map rain rule govern pull cold
notice voice unit power town fine certain fly fall lead cry dark machine note
wait plan figure star box noun field rest correct able pound done beauty drive
stood contain front teach week final gave green oh quick develop ocean warm free
minute strong special mind behind clear tail produce fact street inch multiply
nothing course stay wheel full force blue object decide surface deep moon island
foot system busy test record boat common gold possible plane stead dry wonder
laugh thousand ago ran check game shape equate hot miss brought heat snow tire
bring yes distant fill east paint language among
sports politics technology business health entertainment education economy
tourism furniture military games news movie film phone team match election
market stock price company computer software weather vacation trip hotel beach
flight football basketball government president minister law court bank money
this text is about topic example hypothesis
""".split()

WORDPIECES = """
##s ##es ##ed ##ing ##er ##ers ##est ##ly ##tion ##tions ##ment ##ments ##ness
##ful ##less ##able ##al ##ic ##ity ##ive ##ize ##ized ##ous ##y ##a ##e ##i
##o ##u ##n ##t ##r ##l ##d ##m ##k ##p ##h ##g ##b ##c ##f ##v ##w ##x ##z
##q ##j ##0 ##1 ##2 ##3 ##4 ##5 ##6 ##7 ##8 ##9 ##ball ##ware ##ology ##ist
""".split()

# Must cover 世界那么大我想去看看家居旅游科技, the hypothesis templates and
# every character of the test inputs below (checked at run time).
CHINESE = (
    '的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能'
    '而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现'
    '当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无'
    '力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重'
    '并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内'
    '信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入'
    '几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务'
    '做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基'
    '眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北'
    '边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改'
    '收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未'
    '远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚'
    '请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片'
    '史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周'
    '较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈'
    '律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧'
    '黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉'
    '止细愿千值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普'
    '怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜'
    '省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷'
    '洲冲射略范竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积余痛检差富灵协'
    '角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养伊怀执副乱抗犯追帮宣'
    '佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索'
    '胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮'
    '露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺'
    '楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票'
    '损忽巨炮旧端探湖录叶春乡附吸予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓'
    '督毒油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂'
    '旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇肉嘴馆遍凡础洞'
    '卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸'
    '扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虚玩析窗醒妻透购替塞努休虎扬途'
    '侵刑绿兄迅套贸毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱'
    '埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣雅振染盛怒舞圆搞狂措姓残秋培迷诚宽'
    '宇猛摆梅毁伸摩盟末乃悲拍丁赵'
    '篮足赛季冠军股票涨跌房价智能手机芯片电脑软件新闻娱乐电影明星音乐体育'
    '财经汽车教育军事游戏故事旅行酒店机场假期周末沙发装修家具厨房卧室客厅'
    '这条关于文本篇章标题全突破解放运版空中加油曝光今天气很好我们公园散步'
)

ASCII = [chr(c) for c in range(33, 127)
         if not ('A' <= chr(c) <= 'Z')]  # do_lower_case=True: no upper case
CN_PUNCT = list('，。！？、；：“”‘’（）《》【】…—')


def _case_chars():
    """Every non-ASCII character of the test inputs, in order."""
    out = []
    for text, labels, _, template in CASES:
        labels = labels if isinstance(labels, str) else ''.join(labels)
        out.extend(c for c in text + labels + (template or '') if ord(c) > 127)
    for premise, hyp in RAW_LOGIT_PAIRS:
        out.extend(c for c in premise + hyp if ord(c) > 127)
    return out


def build_vocab():
    seen, vocab = set(), []
    for tok in (SPECIAL + ASCII + CN_PUNCT + ENGLISH_WORDS + WORDPIECES
                + list(CHINESE) + _case_chars()):
        if tok == ' ':
            continue
        if tok not in seen:
            seen.add(tok)
            vocab.append(tok)
    return vocab


LONG_ZH = ('今天天气很好，我们去公园散步，然后去看电影。' * 30)  # >512 tokens
LONG_EN = ' '.join(['the travel story about a long trip to the sea and the '
                    'mountain with my family and friends'] * 40)

CASES = [
    # (text, candidate_labels, multi_label, hypothesis_template or None)
    ('世界那么大，我想去看看', ['家居', '旅游', '科技'], False, None),
    ('世界那么大，我想去看看', ['家居', '旅游', '科技'], True, None),
    ('世界那么大，我想去看看', ['家居', '旅游', '科技', '军事', '游戏', '故事'],
     False, None),
    ('世界那么大，我想去看看', ['家居', '旅游', '科技', '军事', '游戏', '故事'],
     True, None),
    ('世界那么大，我想去看看', ['家居', '旅游', '科技'], False,
     '这是一条关于{}的文本。'),
    ('世界那么大，我想去看看', ['家居', '旅游', '科技'], True,
     '这是一条关于{}的文本。'),
    ('全新突破 解放军运20版空中加油机曝光',
     ['文化', '体育', '娱乐', '财经', '家居', '汽车', '教育', '科技', '军事'],
     False, '这篇文章的标题是{}'),
    ('全新突破 解放军运20版空中加油机曝光', ['军事'], False, None),
    ('全新突破 解放军运20版空中加油机曝光', ['军事'], True, None),
    ('篮球比赛今晚开始，主队有望夺得冠军', ['体育', '财经'], False, None),
    ('篮球比赛今晚开始，主队有望夺得冠军', ['体育', '财经'], True,
     '这是一条关于{}的文本。'),
    ('股票市场今天大涨，科技股领涨', '财经，科技, 体育', False, None),
    ('新款智能手机发布，搭载最新芯片',
     ['家居', '旅游', '科技', '军事', '游戏', '故事', '体育', '财经', '教育',
      '娱乐'], False, None),
    ('新款智能手机发布，搭载最新芯片',
     ['家居', '旅游', '科技', '军事', '游戏', '故事', '体育', '财经', '教育',
      '娱乐'], True, '这是一条关于{}的文本。'),
    ('The team won the football match last night.',
     ['sports', 'politics', 'technology'], False, None),
    ('The team won the football match last night.',
     ['sports', 'politics', 'technology'], True,
     'This text is about {}.'),
    ('I want to book a hotel near the beach for my vacation.',
     ['travel', 'business'], False, 'This example is {}.'),
    ('I want to book a hotel near the beach for my vacation.', ['travel'],
     False, None),
    ('New phone software makes the computer run fast.',
     ['sports', 'politics', 'technology', 'business', 'health',
      'entertainment', 'education', 'travel', 'weather', 'music'],
     False, 'This text is about {}.'),
    ('Stock prices fell after the bank report', 'business,politics, sports',
     True, None),
    (LONG_ZH, ['家居', '旅游', '科技'], False, None),
    (LONG_ZH, ['家居', '旅游', '科技'], True, '这是一条关于{}的文本。'),
    (LONG_EN, ['travel', 'sports', 'technology'], False,
     'This text is about {}.'),
]

RAW_LOGIT_PAIRS = [
    ('世界那么大，我想去看看', '旅游'),
    ('世界那么大，我想去看看', '这是一条关于家居的文本。'),
    ('The team won the football match last night.', 'This text is about sports.'),
]


def randomize_(model, gen):
    """Overwrite every parameter with seeded noise that is large enough to
    give well-separated logits (the stock 0.02-std init gives near-ties)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if name == 'classifier.weight':
                p.copy_(0.8 * noise)
            elif name.endswith('LayerNorm.weight'):
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith('bias'):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.2 * noise)


def main(out_dir):
    from modelscope.models.nlp.structbert import (SbertConfig,
                                                  SbertForSequenceClassification)
    from modelscope.pipelines import pipeline
    from modelscope.utils.checkpoint import save_configuration

    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):
        os.remove(os.path.join(out_dir, f))

    vocab = build_vocab()
    with open(os.path.join(out_dir, 'vocab.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(vocab) + '\n')

    torch.manual_seed(SEED)
    id2label = {0: 'entailment', 1: 'neutral', 2: 'contradiction'}
    config = SbertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=37,
        max_position_embeddings=512,  # ModelScope always tokenises to 512
        type_vocab_size=2, num_labels=3, id2label=id2label,
        label2id={v: k for k, v in id2label.items()})
    model = SbertForSequenceClassification(config)
    gen = torch.Generator().manual_seed(SEED)
    randomize_(model, gen)
    model.eval()

    config.save_pretrained(out_dir)  # -> config.json, as SbertConfig saves it
    state = model.state_dict()
    bad = [k for k in state if not k.startswith(('bert.', 'classifier.'))]
    assert not bad, bad
    torch.save(state, os.path.join(out_dir, 'pytorch_model.bin'))
    save_configuration(out_dir, {
        'framework': 'pytorch',
        'task': 'zero-shot-classification',
        'model': {'type': 'structbert'},
        'pipeline': {'type': 'zero-shot-classification'},
        'preprocessor': {'type': 'zero-shot-cls-tokenizer'},
    })

    pipe = pipeline('zero-shot-classification', model=out_dir, device='cpu')
    tok = pipe.preprocessor.nlp_tokenizer.tokenizer
    unk = tok.unk_token_id

    cases = []
    for text, labels, multi, template in CASES:
        kwargs = {'candidate_labels': labels, 'multi_label': multi}
        if template is not None:
            kwargs['hypothesis_template'] = template
        res = pipe(text, **kwargs)
        # coverage check: no [UNK] in anything we tokenise
        lab_list = pipe._parse_labels(labels)
        for lab in lab_list:
            hyp = (template or '{}').format(lab)
            ids = tok(text, hyp)['input_ids']
            assert unk not in ids, (text[:40], hyp, tok.convert_ids_to_tokens(
                [i for i in ids]))
        cases.append({
            'text': text,
            'candidate_labels': labels,
            'multi_label': multi,
            'hypothesis_template': template,
            'result': {'labels': list(res['labels']),
                       'scores': [float(s) for s in res['scores']]},
        })
        print(f'{text[:30]!r:36} multi={multi!s:5} -> '
              f"{list(zip(res['labels'], [round(s, 4) for s in res['scores']]))}")

    raw = []
    with torch.no_grad():
        for premise, hyp in RAW_LOGIT_PAIRS:
            enc = tok(premise, hyp, return_tensors='pt')
            logits = model(**enc)['logits'][0]
            raw.append({'premise': premise, 'hypothesis': hyp,
                        'input_ids': enc['input_ids'][0].tolist(),
                        'logits': [float(x) for x in logits]})

    meta = {
        'generated_by': 'tools/make_modelscope_fixture.py',
        'versions': {
            'python': sys.version.split()[0],
            'torch': torch.__version__,
            'transformers': __import__('transformers').__version__,
            'modelscope': __import__('modelscope').__version__,
        },
        'seed': SEED,
    }
    with open(os.path.join(out_dir, 'reference_outputs.json'), 'w',
              encoding='utf-8') as f:
        json.dump({'meta': meta, 'cases': cases, 'raw_logits_cases': raw}, f,
                  ensure_ascii=False, indent=1)
        f.write('\n')
    for name in sorted(os.listdir(out_dir)):
        print(f'{name:24} {os.path.getsize(os.path.join(out_dir, name)):>8}')


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT)

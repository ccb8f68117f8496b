/**
 * The fixed vocabulary of the demo catalog: top categories under "Electronics", product types (with their
 * category path, silhouette, price level, attributes and text templates) and fictional brands (home
 * categories, price tier, colours, logo). The taxonomy does not depend on the seed; the seed only decides
 * which products are drawn from it.
 *
 * Template placeholders: {brand} {series} {model} {color} {noun} {nouns} and any attribute key of the type.
 * An attribute's values are listed from cheapest to most expensive; `step` is the relative price increase
 * per position, so specs, price and brand tier are correlated the way they are in a real catalog.
 */

export type Rgb = readonly [number, number, number];

export interface TopCategory {
  readonly name: string;
  /** Share of the catalog. */
  readonly weight: number;
  /** Image background, top and bottom of a vertical gradient. */
  readonly background: readonly [Rgb, Rgb];
}

export interface Attribute {
  readonly key: string;
  readonly values: readonly string[];
  /** Relative price increase per value position (0 = no effect). */
  readonly step?: number;
}

/** Silhouettes drawn by the image renderer (see silhouettes.ts). */
export type ShapeKey =
  | 'laptop' | 'tablet' | 'monitor' | 'keyboard' | 'mouse' | 'router' | 'drive'
  | 'camera' | 'lens' | 'tripod' | 'actioncam'
  | 'overear' | 'earbuds'
  | 'tv' | 'streamer' | 'projector'
  | 'phone' | 'phonecase' | 'charger'
  | 'smartspeaker' | 'seccam' | 'plug' | 'bulb'
  | 'dashcam' | 'carstereo' | 'gps'
  | 'smartwatch' | 'tracker'
  | 'btspeaker' | 'soundbar' | 'bookshelf'
  | 'console' | 'controller' | 'headset';

export interface ProductType {
  readonly key: ShapeKey;
  /** Index into TOP_CATEGORIES. */
  readonly top: number;
  /** Category path below "Electronics", starting with the top category's name. */
  readonly path: readonly string[];
  readonly noun: string;
  readonly nouns: string;
  /** Share within its top category. */
  readonly weight: number;
  /** Median price in dollars of a mid-tier product with the cheapest specs, and log-scale spread. */
  readonly price: { readonly median: number; readonly sigma: number };
  readonly attrs: readonly Attribute[];
  readonly titles: readonly string[];
  /** Noun phrases for descriptions ("all-day battery life"). */
  readonly benefits: readonly string[];
  readonly features: readonly string[];
  /** What reviewers talk about ("the sound", "battery life"). */
  readonly aspects: readonly string[];
  /** What comes in the box besides the product. */
  readonly box: readonly string[];
}

export type LogoShape = 'dot' | 'bar' | 'triangle' | 'diamond' | 'ring' | 'square';

export interface Brand {
  readonly name: string;
  /** 0 budget, 1 mid-range, 2 premium. */
  readonly tier: 0 | 1 | 2;
  /** Indices into TOP_CATEGORIES where the brand sells. */
  readonly home: readonly number[];
  /** Body colours (keys of NAMED_COLORS), the first one most common. */
  readonly colors: readonly string[];
  /** Brand accent used for trims and the logo mark. */
  readonly accent: Rgb;
  readonly logo: LogoShape;
  readonly series: readonly string[];
  /** Model code pattern: L = letter, D = digit, other characters literal. */
  readonly model: string;
}

export const ROOT_CATEGORY = 'Electronics';

export const TOP_CATEGORIES: readonly TopCategory[] = [
  { name: 'Computers & Accessories', weight: 0.2, background: [[214, 226, 240], [168, 186, 210]] },
  { name: 'Camera & Photo', weight: 0.09, background: [[244, 232, 212], [204, 180, 146]] },
  { name: 'Headphones', weight: 0.12, background: [[226, 214, 242], [170, 150, 204]] },
  { name: 'Television & Video', weight: 0.07, background: [[70, 80, 98], [30, 34, 44]] },
  { name: 'Cell Phones & Accessories', weight: 0.16, background: [[212, 242, 226], [150, 204, 176]] },
  { name: 'Smart Home', weight: 0.08, background: [[250, 244, 200], [222, 204, 128]] },
  { name: 'Car & Vehicle Electronics', weight: 0.06, background: [[200, 200, 196], [120, 118, 112]] },
  { name: 'Wearable Technology', weight: 0.07, background: [[250, 220, 226], [222, 160, 176]] },
  { name: 'Home Audio & Speakers', weight: 0.08, background: [[200, 232, 236], [110, 170, 178]] },
  { name: 'Video Games', weight: 0.07, background: [[92, 60, 120], [40, 24, 60]] },
];

export const NAMED_COLORS: Readonly<Record<string, Rgb>> = {
  Black: [28, 28, 30],
  'Matte Black': [48, 48, 50],
  Graphite: [72, 76, 82],
  'Space Gray': [110, 112, 118],
  Silver: [196, 198, 202],
  White: [244, 244, 242],
  'Navy Blue': [30, 48, 96],
  Blue: [38, 104, 204],
  Teal: [24, 140, 140],
  'Midnight Green': [40, 70, 60],
  Red: [196, 36, 44],
  Orange: [238, 122, 30],
  Yellow: [240, 200, 40],
  Purple: [110, 60, 170],
  'Rose Gold': [226, 170, 156],
  Gold: [212, 174, 84],
  Mint: [150, 220, 190],
  Coral: [246, 120, 100],
};

export const PRODUCT_TYPES: readonly ProductType[] = [
  // 0 Computers & Accessories
  {
    key: 'laptop', top: 0, path: ['Computers & Accessories', 'Computers & Tablets', 'Laptops'],
    noun: 'laptop', nouns: 'laptops', weight: 0.2, price: { median: 420, sigma: 0.25 },
    attrs: [
      { key: 'screen', values: ['13.3"', '14"', '15.6"', '17.3"'], step: 0.06 },
      { key: 'cpu', values: ['Intel Celeron N4000', 'AMD Ryzen 3 3200U', 'Intel Core i5-8265U', 'AMD Ryzen 7 3700U', 'Intel Core i7-8565U'], step: 0.14 },
      { key: 'ram', values: ['4GB', '8GB', '16GB', '32GB'], step: 0.12 },
      { key: 'storage', values: ['64GB eMMC', '256GB SSD', '512GB SSD', '1TB SSD'], step: 0.1 },
      { key: 'battery', values: ['6 hours', '8 hours', '10 hours', '12 hours'], step: 0.03 },
    ],
    titles: [
      '{brand} {series} {model} {screen} Laptop, {cpu}, {ram} RAM, {storage}, {color}',
      '{brand} {series} {screen} Thin and Light Laptop ({cpu}, {ram}, {storage}) - {color}',
      '{brand} {series} {model} {screen} Full HD Notebook Computer, {ram}/{storage}, Windows 10',
    ],
    benefits: ['all-day battery life', 'a crisp full HD display', 'a comfortable backlit keyboard', 'fast boot times', 'a slim aluminium chassis', 'smooth multitasking'],
    features: [
      '{screen} Full HD IPS display with narrow bezels',
      'Powered by the {cpu} processor for everyday productivity',
      '{ram} of RAM and a {storage} for fast multitasking and quick load times',
      'Backlit keyboard and a precision glass touchpad',
      'Up to {battery} of battery life on a single charge',
      'USB-C, two USB 3.0 ports, HDMI and a microSD card reader',
    ],
    aspects: ['the battery life', 'the screen', 'the keyboard', 'the performance', 'the build quality', 'the trackpad'],
    box: ['a 45W power adapter'],
  },
  {
    key: 'tablet', top: 0, path: ['Computers & Accessories', 'Computers & Tablets', 'Tablets'],
    noun: 'tablet', nouns: 'tablets', weight: 0.1, price: { median: 140, sigma: 0.3 },
    attrs: [
      { key: 'screen', values: ['7"', '8"', '10.1"', '11"', '12.9"'], step: 0.12 },
      { key: 'storage', values: ['16GB', '32GB', '64GB', '128GB', '256GB'], step: 0.1 },
      { key: 'ram', values: ['2GB', '3GB', '4GB', '6GB'], step: 0.06 },
    ],
    titles: [
      '{brand} {series} {screen} Tablet, {storage}, {ram} RAM, Wi-Fi, {color}',
      '{brand} {series} {model} {screen} HD Tablet with {storage} Storage - {color}',
    ],
    benefits: ['a bright, sharp display', 'long battery life', 'a light, portable design', 'fast app switching', 'rich stereo sound'],
    features: [
      '{screen} HD display with wide viewing angles',
      '{storage} of internal storage, expandable with microSD',
      '{ram} RAM for smooth streaming and gaming',
      'Up to 12 hours of reading, browsing and video',
      'Dual cameras for video calls',
    ],
    aspects: ['the screen', 'the battery', 'the speed', 'the weight', 'the speakers'],
    box: ['a USB-C cable', 'a power adapter'],
  },
  {
    key: 'monitor', top: 0, path: ['Computers & Accessories', 'Monitors'],
    noun: 'monitor', nouns: 'monitors', weight: 0.14, price: { median: 130, sigma: 0.25 },
    attrs: [
      { key: 'size', values: ['21.5"', '24"', '27"', '32"', '34"'], step: 0.12 },
      { key: 'res', values: ['1080p Full HD', '1440p QHD', '4K UHD'], step: 0.25 },
      { key: 'refresh', values: ['60Hz', '75Hz', '144Hz', '165Hz'], step: 0.1 },
      { key: 'panel', values: ['TN', 'VA', 'IPS'], step: 0.05 },
    ],
    titles: [
      '{brand} {series} {model} {size} {res} {panel} Monitor, {refresh}, {color}',
      '{brand} {size} {res} {refresh} Gaming Monitor ({series} {model})',
      '{brand} {series} {size} Frameless {panel} Computer Monitor, {res}, HDMI, VESA Mountable',
    ],
    benefits: ['accurate colours', 'a virtually borderless design', 'fluid motion in games', 'eye-care flicker-free backlighting', 'an ergonomic tilt stand'],
    features: [
      '{size} {panel} panel with {res} resolution',
      '{refresh} refresh rate with adaptive sync for tear-free gaming',
      'Flicker-free backlight and low blue light mode',
      'HDMI and DisplayPort inputs, VESA 100x100 mount',
      'Three-sided ultra-thin bezel design',
    ],
    aspects: ['the picture quality', 'the colors', 'the stand', 'the refresh rate', 'the bezels'],
    box: ['an HDMI cable', 'a power cable', 'a stand'],
  },
  {
    key: 'keyboard', top: 0, path: ['Computers & Accessories', 'Computer Accessories & Peripherals', 'Keyboards, Mice & Accessories', 'Keyboards'],
    noun: 'keyboard', nouns: 'keyboards', weight: 0.13, price: { median: 28, sigma: 0.35 },
    attrs: [
      { key: 'switch', values: ['Membrane', 'Blue Mechanical Switches', 'Brown Mechanical Switches', 'Red Mechanical Switches'], step: 0.25 },
      { key: 'layout', values: ['Full-Size', 'Tenkeyless', '60%'], step: 0.05 },
      { key: 'conn', values: ['USB Wired', '2.4GHz Wireless', 'Bluetooth'], step: 0.15 },
    ],
    titles: [
      '{brand} {series} {layout} Keyboard with {switch}, {conn}, {color}',
      '{brand} {series} {model} RGB Gaming Keyboard, {switch}, {layout}',
    ],
    benefits: ['satisfying tactile feedback', 'customisable RGB lighting', 'a spill-resistant design', 'a sturdy metal top plate', 'quiet typing'],
    features: [
      '{switch} rated for 50 million keystrokes',
      '{layout} layout that saves desk space',
      '{conn} connection with low latency',
      'Per-key RGB backlighting with 18 effects',
      'Anti-ghosting on all keys and a detachable wrist rest',
    ],
    aspects: ['the key feel', 'the backlight', 'the build', 'the noise', 'the software'],
    box: ['a USB cable', 'a keycap puller'],
  },
  {
    key: 'mouse', top: 0, path: ['Computers & Accessories', 'Computer Accessories & Peripherals', 'Keyboards, Mice & Accessories', 'Mice'],
    noun: 'mouse', nouns: 'mice', weight: 0.16, price: { median: 16, sigma: 0.35 },
    attrs: [
      { key: 'dpi', values: ['1600 DPI', '4000 DPI', '12000 DPI', '16000 DPI'], step: 0.18 },
      { key: 'conn', values: ['Wired', 'Wireless', 'Bluetooth'], step: 0.15 },
      { key: 'buttons', values: ['3 Buttons', '6 Programmable Buttons', '8 Programmable Buttons'], step: 0.1 },
    ],
    titles: [
      '{brand} {series} {model} {conn} Mouse, {dpi}, {buttons}, {color}',
      '{brand} {series} Ergonomic {conn} Optical Mouse - {color}',
    ],
    benefits: ['precise tracking', 'an ergonomic grip', 'a long-lasting battery', 'silent clicks', 'a lightweight shell'],
    features: [
      'Adjustable sensor up to {dpi}',
      '{buttons} for shortcuts and games',
      '{conn} connection, plug and play',
      'Contoured shape for all-day comfort',
      'Up to 18 months of battery life',
    ],
    aspects: ['the tracking', 'the grip', 'the scroll wheel', 'the clicks', 'the battery'],
    box: ['a USB receiver', 'an AA battery'],
  },
  {
    key: 'router', top: 0, path: ['Computers & Accessories', 'Networking Products', 'Routers'],
    noun: 'router', nouns: 'routers', weight: 0.1, price: { median: 55, sigma: 0.3 },
    attrs: [
      { key: 'std', values: ['AC1200', 'AC1750', 'AC2600', 'AX3000', 'AX6000'], step: 0.2 },
      { key: 'band', values: ['Dual-Band', 'Tri-Band'], step: 0.25 },
      { key: 'ports', values: ['4 Gigabit Ports', '8 Gigabit Ports'], step: 0.1 },
    ],
    titles: [
      '{brand} {std} Smart WiFi Router ({series} {model}) - {band} Gigabit Wireless Internet Router',
      '{brand} {series} {model} {band} {std} WiFi Router, {ports}, Parental Controls',
    ],
    benefits: ['whole-home coverage', 'stable connections for dozens of devices', 'easy app-based setup', 'built-in parental controls', 'low-latency gaming'],
    features: [
      '{std} {band} WiFi for fast, reliable connections',
      '{ports} for wired devices',
      'Beamforming antennas extend coverage to every room',
      'Set up in minutes with the companion app',
      'WPA3 security and automatic firmware updates',
    ],
    aspects: ['the range', 'the speed', 'the setup', 'the app', 'the stability'],
    box: ['an Ethernet cable', 'a power adapter'],
  },
  {
    key: 'drive', top: 0, path: ['Computers & Accessories', 'Data Storage', 'External Hard Drives'],
    noun: 'drive', nouns: 'drives', weight: 0.17, price: { median: 45, sigma: 0.25 },
    attrs: [
      { key: 'capacity', values: ['500GB', '1TB', '2TB', '4TB', '5TB'], step: 0.18 },
      { key: 'kind', values: ['Portable HDD', 'Portable SSD'], step: 0.5 },
      { key: 'iface', values: ['USB 3.0', 'USB-C 3.1'], step: 0.08 },
    ],
    titles: [
      '{brand} {series} {capacity} {kind} External Hard Drive, {iface}, {color}',
      '{brand} {capacity} {series} {kind} - {iface} External Storage for PC, Mac, PS4 ({model})',
    ],
    benefits: ['fast file transfers', 'a pocket-sized design', 'automatic backups', 'shock-resistant construction', 'password protection'],
    features: [
      '{capacity} of storage for photos, videos and backups',
      '{iface} interface for fast transfers',
      '{kind} in a compact, durable enclosure',
      'Works with Windows and macOS out of the box',
      '256-bit AES hardware encryption',
    ],
    aspects: ['the transfer speed', 'the size', 'the reliability', 'the cable', 'the capacity'],
    box: ['a USB cable', 'a quick install guide'],
  },
  // 1 Camera & Photo
  {
    key: 'camera', top: 1, path: ['Camera & Photo', 'Digital Cameras', 'Mirrorless Cameras'],
    noun: 'camera', nouns: 'cameras', weight: 0.3, price: { median: 380, sigma: 0.3 },
    attrs: [
      { key: 'mp', values: ['16MP', '20MP', '24MP', '26MP', '45MP'], step: 0.12 },
      { key: 'sensor', values: ['1-inch', 'APS-C', 'Full-Frame'], step: 0.45 },
      { key: 'video', values: ['Full HD Video', '4K Video'], step: 0.15 },
    ],
    titles: [
      '{brand} {series} {model} {mp} {sensor} Mirrorless Camera with {video}, {color}',
      '{brand} {series} {model} Mirrorless Digital Camera Body, {mp}, {video}',
      '{brand} {series} {mp} {sensor} Camera Kit with 15-45mm Lens - {color}',
    ],
    benefits: ['fast, accurate autofocus', 'excellent low-light performance', 'a bright electronic viewfinder', 'rich, natural colours', 'a compact weather-sealed body'],
    features: [
      '{mp} {sensor} sensor for detailed images',
      '{video} recording with clean HDMI output',
      'Hybrid autofocus with eye detection',
      'Tilting touchscreen and built-in Wi-Fi',
      'In-body image stabilization',
    ],
    aspects: ['the image quality', 'the autofocus', 'the menus', 'the battery life', 'the low light performance'],
    box: ['a rechargeable battery', 'a charger', 'a neck strap'],
  },
  {
    key: 'lens', top: 1, path: ['Camera & Photo', 'Lenses', 'Camera Lenses'],
    noun: 'lens', nouns: 'lenses', weight: 0.28, price: { median: 170, sigma: 0.35 },
    attrs: [
      { key: 'focal', values: ['50mm f/1.8', '35mm f/1.8', '18-55mm f/3.5-5.6', '85mm f/1.8', '70-200mm f/4', '24-70mm f/2.8'], step: 0.18 },
      { key: 'mount', values: ['E-Mount', 'EF Mount', 'F Mount', 'X Mount', 'Micro Four Thirds'] },
      { key: 'stab', values: ['Standard', 'Image Stabilized'], step: 0.2 },
    ],
    titles: [
      '{brand} {series} {focal} Lens for {mount} Cameras, {color}',
      '{brand} {focal} {stab} {series} Lens ({model}) - {mount}',
    ],
    benefits: ['sharp corner-to-corner detail', 'creamy background blur', 'quiet, fast focusing', 'minimal distortion', 'a durable metal mount'],
    features: [
      '{focal} optics for portraits, travel and everyday shooting',
      'Designed for {mount} bodies',
      '{stab} design with a silent stepping motor',
      'Nano-coated elements reduce flare and ghosting',
      'Dust and moisture resistant construction',
    ],
    aspects: ['the sharpness', 'the bokeh', 'the focus speed', 'the weight', 'the build quality'],
    box: ['front and rear caps', 'a lens hood'],
  },
  {
    key: 'tripod', top: 1, path: ['Camera & Photo', 'Tripods & Monopods', 'Complete Tripods'],
    noun: 'tripod', nouns: 'tripods', weight: 0.2, price: { median: 28, sigma: 0.3 },
    attrs: [
      { key: 'height', values: ['50"', '60"', '67"', '72"'], step: 0.1 },
      { key: 'material', values: ['Aluminum', 'Carbon Fiber'], step: 0.8 },
      { key: 'head', values: ['Pan-Tilt Head', 'Ball Head', 'Fluid Head'], step: 0.15 },
    ],
    titles: [
      '{brand} {series} {height} {material} Tripod with {head}, {color}',
      '{brand} {height} Lightweight Travel Tripod ({series} {model}), {head}, Carry Bag',
    ],
    benefits: ['rock-solid stability', 'quick flip leg locks', 'a light travel weight', 'smooth panning', 'a quick-release plate'],
    features: [
      'Extends to {height} and folds down for travel',
      '{material} legs with rubber feet',
      '{head} with bubble level',
      'Arca-compatible quick release plate',
      'Supports up to 15 lbs',
    ],
    aspects: ['the stability', 'the leg locks', 'the head', 'the weight', 'the height'],
    box: ['a carry bag', 'a phone mount'],
  },
  {
    key: 'actioncam', top: 1, path: ['Camera & Photo', 'Video', 'Sports & Action Video Cameras'],
    noun: 'action camera', nouns: 'action cameras', weight: 0.22, price: { median: 75, sigma: 0.4 },
    attrs: [
      { key: 'res', values: ['1080p', '4K30', '4K60', '5K'], step: 0.25 },
      { key: 'water', values: ['Waterproof to 30m with Case', 'Waterproof to 10m without Case'], step: 0.15 },
      { key: 'stab', values: ['Electronic Stabilization', 'Gimbal-Grade Stabilization'], step: 0.2 },
    ],
    titles: [
      '{brand} {series} {model} {res} Action Camera, {water}, {stab}',
      '{brand} {series} {res} Sports Camera with Accessories Kit - {color}',
    ],
    benefits: ['buttery-smooth footage', 'a rugged waterproof build', 'wide-angle shots', 'easy sharing over Wi-Fi', 'voice control'],
    features: [
      '{res} video and 20MP photos',
      '{water}',
      '{stab} keeps footage steady',
      'Front and rear screens for framing',
      'Two 1350mAh batteries included',
    ],
    aspects: ['the video quality', 'the stabilization', 'the battery', 'the mounts', 'the app'],
    box: ['two batteries', 'a waterproof case', 'a mount kit'],
  },
  // 2 Headphones
  {
    key: 'overear', top: 2, path: ['Headphones', 'Over-Ear Headphones'],
    noun: 'headphones', nouns: 'headphones', weight: 0.5, price: { median: 45, sigma: 0.4 },
    attrs: [
      { key: 'conn', values: ['Wired', 'Bluetooth Wireless'], step: 0.35 },
      { key: 'anc', values: ['Studio', 'Active Noise Cancelling'], step: 0.6 },
      { key: 'battery', values: ['20-Hour Battery', '30-Hour Battery', '40-Hour Battery'], step: 0.05 },
    ],
    titles: [
      '{brand} {series} {model} {anc} {conn} Over-Ear Headphones, {battery}, {color}',
      '{brand} {series} {conn} Over Ear Headphones with Mic, Deep Bass, {color}',
    ],
    benefits: ['deep, punchy bass', 'plush memory-foam ear cushions', 'clear calls', 'immersive sound', 'a foldable design'],
    features: [
      '{anc} design with 40mm dynamic drivers',
      '{conn} connection with built-in microphone',
      '{battery} and quick charging',
      'Soft protein leather ear cups for long sessions',
      'Folds flat into the included travel case',
    ],
    aspects: ['the sound', 'the bass', 'the noise cancelling', 'the comfort', 'the battery life', 'the microphone'],
    box: ['a travel case', 'a 3.5mm audio cable'],
  },
  {
    key: 'earbuds', top: 2, path: ['Headphones', 'Earbud Headphones'],
    noun: 'earbuds', nouns: 'earbuds', weight: 0.5, price: { median: 25, sigma: 0.45 },
    attrs: [
      { key: 'kind', values: ['Sport Wireless', 'True Wireless', 'Noise Cancelling True Wireless'], step: 0.35 },
      { key: 'battery', values: ['18H Playtime', '24H Playtime', '36H Playtime'], step: 0.08 },
      { key: 'water', values: ['IPX4 Sweatproof', 'IPX7 Waterproof'], step: 0.1 },
    ],
    titles: [
      '{brand} {series} {model} {kind} Earbuds, {battery}, {water}, {color}',
      '{brand} {kind} Earbuds ({series}) with Charging Case and Mic, {battery} - {color}',
    ],
    benefits: ['a secure, comfortable fit', 'crisp highs and rich bass', 'one-step pairing', 'a pocketable charging case', 'clear hands-free calls'],
    features: [
      '{kind} design with 10mm graphene drivers',
      '{battery} with the charging case',
      '{water} for workouts and rain',
      'Touch controls for music and calls',
      'Three sizes of silicone ear tips',
    ],
    aspects: ['the sound', 'the fit', 'the battery', 'the case', 'the connection', 'the call quality'],
    box: ['a charging case', 'ear tips in three sizes', 'a USB-C cable'],
  },
  // 3 Television & Video
  {
    key: 'tv', top: 3, path: ['Television & Video', 'Televisions'],
    noun: 'TV', nouns: 'TVs', weight: 0.5, price: { median: 150, sigma: 0.3 },
    attrs: [
      { key: 'size', values: ['32"', '43"', '50"', '55"', '65"', '75"'], step: 0.28 },
      { key: 'res', values: ['720p HD', '1080p Full HD', '4K UHD'], step: 0.2 },
      { key: 'panel', values: ['LED', 'QLED', 'OLED'], step: 0.45 },
    ],
    titles: [
      '{brand} {size} Class {res} {panel} Smart TV ({series} {model}, 2018 Model)',
      '{brand} {series} {size} {res} HDR {panel} Television with Built-in Streaming Apps',
    ],
    benefits: ['vivid HDR colour', 'deep blacks', 'a simple smart TV interface', 'a thin, nearly borderless frame', 'low input lag for gaming'],
    features: [
      '{size} {panel} screen with {res} resolution',
      'HDR10 support for brighter highlights',
      'Built-in streaming apps and voice search',
      'Three HDMI inputs including one with ARC',
      'Game mode with auto low latency',
    ],
    aspects: ['the picture', 'the sound', 'the remote', 'the smart features', 'the colors', 'the viewing angles'],
    box: ['a voice remote', 'two batteries', 'stand feet'],
  },
  {
    key: 'streamer', top: 3, path: ['Television & Video', 'Streaming Media Players'],
    noun: 'streaming player', nouns: 'streaming players', weight: 0.3, price: { median: 30, sigma: 0.3 },
    attrs: [
      { key: 'res', values: ['HD', '4K HDR'], step: 0.5 },
      { key: 'remote', values: ['with Remote', 'with Voice Remote'], step: 0.2 },
    ],
    titles: [
      '{brand} {series} {res} Streaming Media Player {remote}',
      '{brand} {series} {model} {res} Streaming Stick {remote} - {color}',
    ],
    benefits: ['thousands of channels', 'quick, responsive menus', 'a simple setup', 'private listening through the remote', 'dual-band Wi-Fi'],
    features: [
      'Stream in {res} with Dolby Audio',
      'Comes {remote} that also controls TV power and volume',
      'Quad-core processor for fast app launch',
      'Plugs into any HDMI port',
      'Free channels and live TV',
    ],
    aspects: ['the interface', 'the remote', 'the picture', 'the setup', 'the Wi-Fi'],
    box: ['a remote', 'an HDMI extender', 'a power adapter'],
  },
  {
    key: 'projector', top: 3, path: ['Television & Video', 'Projectors'],
    noun: 'projector', nouns: 'projectors', weight: 0.2, price: { median: 110, sigma: 0.35 },
    attrs: [
      { key: 'lumens', values: ['3000 Lumens', '5000 Lumens', '7000 Lumens'], step: 0.15 },
      { key: 'res', values: ['720p Native', '1080p Native', '4K'], step: 0.35 },
      { key: 'kind', values: ['Mini Portable', 'Home Theater'], step: 0.3 },
    ],
    titles: [
      '{brand} {series} {model} {kind} Projector, {res}, {lumens}, {color}',
      '{brand} {lumens} {res} {kind} Video Projector ({series})',
    ],
    benefits: ['a huge 200-inch picture', 'bright, vivid images', 'quiet cooling', 'built-in speakers', 'easy keystone correction'],
    features: [
      '{res} resolution with {lumens} brightness',
      '{kind} design with a 50,000-hour lamp',
      'Projects from 40 to 200 inches',
      'HDMI, USB and AV inputs',
      'Digital keystone correction and zoom',
    ],
    aspects: ['the brightness', 'the picture', 'the fan noise', 'the speaker', 'the focus'],
    box: ['a remote', 'an HDMI cable', 'a lens cap'],
  },
  // 4 Cell Phones & Accessories
  {
    key: 'phone', top: 4, path: ['Cell Phones & Accessories', 'Cell Phones'],
    noun: 'phone', nouns: 'phones', weight: 0.3, price: { median: 160, sigma: 0.35 },
    attrs: [
      { key: 'storage', values: ['32GB', '64GB', '128GB', '256GB'], step: 0.15 },
      { key: 'screen', values: ['5.5"', '6.1"', '6.4"', '6.7"'], step: 0.05 },
      { key: 'camera', values: ['12MP Camera', '48MP Camera', 'Triple Camera'], step: 0.25 },
      { key: 'unlocked', values: ['GSM Unlocked', 'Fully Unlocked'], step: 0.05 },
    ],
    titles: [
      '{brand} {series} {model} ({storage}, {color}) - {unlocked} Smartphone, {screen} Display, {camera}',
      '{brand} {series} {model} {screen} {unlocked} Phone with {camera}, {storage} - {color}',
    ],
    benefits: ['a gorgeous edge-to-edge display', 'a camera that shines at night', 'battery life that lasts all day', 'fast face unlock', 'quick charging'],
    features: [
      '{screen} display with slim bezels',
      '{camera} with night mode and portrait effects',
      '{storage} of storage, expandable up to 512GB',
      '{unlocked} to work with major carriers',
      '4000mAh battery with fast charging',
    ],
    aspects: ['the camera', 'the battery', 'the screen', 'the speed', 'the signal', 'the size'],
    box: ['a USB-C cable', 'a fast charger', 'a SIM tool'],
  },
  {
    key: 'phonecase', top: 4, path: ['Cell Phones & Accessories', 'Cases, Holsters & Clips', 'Basic Cases'],
    noun: 'case', nouns: 'cases', weight: 0.4, price: { median: 10, sigma: 0.3 },
    attrs: [
      { key: 'style', values: ['Slim Fit', 'Clear', 'Shockproof', 'Wallet'], step: 0.15 },
      { key: 'fit', values: ['6.1-inch Phones', '6.5-inch Phones', '6.7-inch Phones'] },
      { key: 'material', values: ['TPU', 'Silicone', 'Leather'], step: 0.3 },
    ],
    titles: [
      '{brand} {series} {style} Case for {fit}, {material}, {color}',
      '{brand} {style} Phone Case ({series}) Designed for {fit} - {color}',
    ],
    benefits: ['drop protection', 'a grippy, slim profile', 'raised edges for the screen and camera', 'precise cutouts', 'wireless charging compatibility'],
    features: [
      '{style} {material} case designed for {fit}',
      'Raised bezels protect the screen and camera',
      'Air-cushion corners absorb shocks',
      'Precise cutouts for all ports and buttons',
      'Compatible with wireless charging',
    ],
    aspects: ['the fit', 'the grip', 'the protection', 'the buttons', 'the look'],
    box: [],
  },
  {
    key: 'charger', top: 4, path: ['Cell Phones & Accessories', 'Accessories', 'Chargers & Power Adapters', 'Wall Chargers'],
    noun: 'charger', nouns: 'chargers', weight: 0.3, price: { median: 11, sigma: 0.3 },
    attrs: [
      { key: 'watts', values: ['12W', '18W', '30W', '65W'], step: 0.25 },
      { key: 'ports', values: ['Single Port', 'Dual Port', '3-Port'], step: 0.15 },
      { key: 'tech', values: ['USB-A', 'USB-C PD', 'GaN USB-C PD'], step: 0.2 },
    ],
    titles: [
      '{brand} {series} {watts} {tech} Wall Charger, {ports}, Foldable Plug, {color}',
      '{brand} {watts} {ports} Fast Charger ({series} {model}) - {tech}',
    ],
    benefits: ['fast charging', 'a compact foldable plug', 'multi-layer safety protection', 'charging two devices at once', 'cool operation'],
    features: [
      '{watts} {tech} output charges phones at full speed',
      '{ports} design for several devices',
      'Foldable prongs for travel',
      'Protection against over-current, over-voltage and overheating',
      'Works with phones, tablets and earbuds',
    ],
    aspects: ['the charging speed', 'the size', 'the heat', 'the cable', 'the build'],
    box: ['a USB-C cable'],
  },
  // 5 Smart Home
  {
    key: 'smartspeaker', top: 5, path: ['Smart Home', 'Smart Speakers'],
    noun: 'smart speaker', nouns: 'smart speakers', weight: 0.25, price: { median: 35, sigma: 0.35 },
    attrs: [
      { key: 'size', values: ['Mini', 'Standard', 'Max'], step: 0.6 },
      { key: 'gen', values: ['2nd Gen', '3rd Gen'], step: 0.1 },
    ],
    titles: [
      '{brand} {series} {size} ({gen}) Smart Speaker with Voice Assistant - {color}',
      '{brand} {series} {size} Smart Speaker, {gen}, {color}',
    ],
    benefits: ['hands-free voice control', 'room-filling sound', 'smart home control', 'far-field microphones', 'multi-room audio'],
    features: [
      '{size} speaker with improved sound',
      'Control lights, plugs and thermostats with your voice',
      'Far-field microphones hear you across the room',
      'Microphone off button for privacy',
      '{gen} design with a light ring',
    ],
    aspects: ['the sound', 'the voice recognition', 'the setup', 'the app', 'the smart home features'],
    box: ['a power adapter', 'a quick start guide'],
  },
  {
    key: 'seccam', top: 5, path: ['Smart Home', 'Security Cameras'],
    noun: 'security camera', nouns: 'security cameras', weight: 0.3, price: { median: 35, sigma: 0.35 },
    attrs: [
      { key: 'res', values: ['1080p', '2K', '4K'], step: 0.3 },
      { key: 'power', values: ['Wired', 'Battery-Powered', 'Solar-Powered'], step: 0.25 },
      { key: 'loc', values: ['Indoor', 'Outdoor'], step: 0.2 },
    ],
    titles: [
      '{brand} {series} {res} {loc} Security Camera, {power}, Night Vision, Two-Way Audio',
      '{brand} {series} {model} {loc} WiFi Camera, {res}, {power} - {color}',
    ],
    benefits: ['clear night vision', 'instant motion alerts', 'two-way talk', 'free local storage', 'a weatherproof housing'],
    features: [
      '{res} video with 8x digital zoom',
      '{power} installation in minutes',
      'Designed for {loc} use with IP65 weather resistance',
      'Person detection and customizable activity zones',
      'Local microSD and optional cloud storage',
    ],
    aspects: ['the picture', 'the night vision', 'the app', 'the alerts', 'the setup', 'the battery'],
    box: ['a mounting kit', 'a USB cable'],
  },
  {
    key: 'plug', top: 5, path: ['Smart Home', 'Smart Plugs'],
    noun: 'smart plug', nouns: 'smart plugs', weight: 0.2, price: { median: 10, sigma: 0.3 },
    attrs: [
      { key: 'pack', values: ['1-Pack', '2-Pack', '4-Pack'], step: 0.55 },
      { key: 'feat', values: ['Timer', 'Energy Monitoring'], step: 0.2 },
    ],
    titles: [
      '{brand} {series} Smart Plug, WiFi Outlet with {feat}, {pack}',
      '{brand} {series} Mini Smart Plug ({pack}), Works with Voice Assistants, {color}',
    ],
    benefits: ['voice control of lamps and fans', 'schedules and timers', 'a compact design that leaves the second outlet free', 'away mode', 'no hub required'],
    features: [
      '{pack} of WiFi smart plugs',
      'Schedules, countdown timers and {feat}',
      'No hub required, 2.4GHz WiFi',
      'Compact design does not block the other outlet',
      'UL certified',
    ],
    aspects: ['the setup', 'the app', 'the reliability', 'the size', 'the schedules'],
    box: ['a quick start guide'],
  },
  {
    key: 'bulb', top: 5, path: ['Smart Home', 'Smart Lighting', 'Smart Bulbs'],
    noun: 'smart bulb', nouns: 'smart bulbs', weight: 0.25, price: { median: 12, sigma: 0.3 },
    attrs: [
      { key: 'pack', values: ['1-Pack', '2-Pack', '4-Pack'], step: 0.55 },
      { key: 'light', values: ['Soft White', 'Tunable White', 'Color Changing'], step: 0.3 },
      { key: 'base', values: ['A19 E26', 'BR30'], step: 0.05 },
    ],
    titles: [
      '{brand} {series} {light} Smart Bulb, {base}, 60W Equivalent, {pack}',
      '{brand} {series} WiFi LED Light Bulb ({light}), {pack}',
    ],
    benefits: ['millions of colours', 'dimming without a hub', 'wake-up lighting', 'low energy use', 'scene presets'],
    features: [
      '{light} {base} LED bulb, 800 lumens',
      '{pack} that works over WiFi, no hub required',
      'Dim and schedule from the app',
      'Uses 9W for 60W of light',
      '25,000-hour lifetime',
    ],
    aspects: ['the brightness', 'the colors', 'the app', 'the setup', 'the dimming'],
    box: [],
  },
  // 6 Car & Vehicle Electronics
  {
    key: 'dashcam', top: 6, path: ['Car & Vehicle Electronics', 'Car Electronics', 'Dash Cams'],
    noun: 'dash cam', nouns: 'dash cams', weight: 0.45, price: { median: 45, sigma: 0.35 },
    attrs: [
      { key: 'res', values: ['1080p', '1440p', '4K'], step: 0.3 },
      { key: 'channels', values: ['Front', 'Front and Rear'], step: 0.45 },
      { key: 'screen', values: ['No Screen', '2" Screen', '3" IPS Screen'], step: 0.1 },
    ],
    titles: [
      '{brand} {series} {model} {res} Dash Cam, {channels}, {screen}, Night Vision',
      '{brand} {series} {channels} Dash Camera for Cars, {res}, Loop Recording',
    ],
    benefits: ['clear footage day and night', 'automatic loop recording', 'a discreet wedge design', 'parking monitoring', 'reliable crash detection'],
    features: [
      '{res} recording with a 170-degree wide angle lens',
      '{channels} recording',
      '{screen} for playback',
      'G-sensor locks footage after a collision',
      'Supercapacitor for heat resistance',
    ],
    aspects: ['the video quality', 'the mount', 'the night footage', 'the app', 'the heat resistance'],
    box: ['a suction mount', 'a car charger', 'a 12ft power cable'],
  },
  {
    key: 'carstereo', top: 6, path: ['Car & Vehicle Electronics', 'Car Electronics', 'Car Audio', 'Car Stereo Receivers'],
    noun: 'car stereo', nouns: 'car stereos', weight: 0.3, price: { median: 70, sigma: 0.4 },
    attrs: [
      { key: 'din', values: ['Single-DIN', 'Double-DIN'], step: 0.4 },
      { key: 'screen', values: ['LCD', '7" Touchscreen', '9" Touchscreen'], step: 0.45 },
      { key: 'conn', values: ['Bluetooth', 'Apple CarPlay and Android Auto'], step: 0.45 },
    ],
    titles: [
      '{brand} {series} {model} {din} Car Stereo Receiver, {screen}, {conn}',
      '{brand} {din} {screen} Digital Media Receiver with {conn} ({series})',
    ],
    benefits: ['hands-free calling', 'a bright, responsive screen', 'easy smartphone integration', 'a built-in amplifier', 'steering wheel control support'],
    features: [
      '{din} chassis fits most vehicles',
      '{screen} display',
      '{conn} connectivity',
      '4 x 50W MOSFET amplifier',
      'Front USB and AUX inputs, rear camera input',
    ],
    aspects: ['the sound', 'the screen', 'the Bluetooth', 'the installation', 'the menus'],
    box: ['a wiring harness', 'a microphone', 'a mounting sleeve'],
  },
  {
    key: 'gps', top: 6, path: ['Car & Vehicle Electronics', 'Vehicle GPS', 'GPS Units'],
    noun: 'GPS', nouns: 'GPS units', weight: 0.25, price: { median: 70, sigma: 0.3 },
    attrs: [
      { key: 'screen', values: ['5"', '6"', '7"'], step: 0.15 },
      { key: 'maps', values: ['Lifetime Maps', 'Lifetime Maps and Traffic'], step: 0.2 },
    ],
    titles: [
      '{brand} {series} {model} {screen} Car GPS Navigator with {maps}',
      '{brand} {series} {screen} GPS Navigation System, {maps}, Spoken Directions',
    ],
    benefits: ['clear spoken directions', 'up-to-date maps', 'lane guidance', 'a bright screen', 'live traffic'],
    features: [
      '{screen} touchscreen display',
      '{maps} for North America',
      'Spoken turn-by-turn directions with street names',
      'Lane assist and speed limit warnings',
      'Magnetic suction mount',
    ],
    aspects: ['the maps', 'the routing', 'the screen', 'the mount', 'the updates'],
    box: ['a suction mount', 'a car charger'],
  },
  // 7 Wearable Technology
  {
    key: 'smartwatch', top: 7, path: ['Wearable Technology', 'Smartwatches'],
    noun: 'smartwatch', nouns: 'smartwatches', weight: 0.5, price: { median: 90, sigma: 0.4 },
    attrs: [
      { key: 'size', values: ['38mm', '42mm', '44mm', '46mm'], step: 0.05 },
      { key: 'feat', values: ['Heart Rate', 'GPS', 'GPS + Cellular'], step: 0.35 },
      { key: 'band', values: ['Silicone Band', 'Leather Band', 'Steel Band'], step: 0.12 },
    ],
    titles: [
      '{brand} {series} {model} Smartwatch {size}, {feat}, {band}, {color}',
      '{brand} {series} {size} Smart Watch with {feat} Tracking - {color} {band}',
    ],
    benefits: ['accurate fitness tracking', 'notifications on your wrist', 'multi-day battery life', 'a bright always-on display', 'contactless payments'],
    features: [
      '{size} case with a {band}',
      '{feat} tracking and 20 sport modes',
      'Sleep and stress monitoring',
      'Water resistant to 50 meters',
      'Up to 5 days of battery life',
    ],
    aspects: ['the battery', 'the display', 'the band', 'the tracking', 'the notifications', 'the app'],
    box: ['a magnetic charger'],
  },
  {
    key: 'tracker', top: 7, path: ['Wearable Technology', 'Activity & Fitness Trackers'],
    noun: 'fitness tracker', nouns: 'fitness trackers', weight: 0.5, price: { median: 30, sigma: 0.35 },
    attrs: [
      { key: 'display', values: ['Monochrome', 'Color AMOLED'], step: 0.3 },
      { key: 'feat', values: ['Sleep Tracking', 'Heart Rate and SpO2', 'Built-in GPS'], step: 0.25 },
      { key: 'water', values: ['IP68', '5ATM Water Resistant'], step: 0.05 },
    ],
    titles: [
      '{brand} {series} {model} Fitness Tracker, {display} Display, {feat}, {water}',
      '{brand} {series} Activity Tracker with {feat} - {color}',
    ],
    benefits: ['step and sleep tracking', 'a slim, light band', 'week-long battery life', 'workout detection', 'silent alarms'],
    features: [
      '{display} touch display',
      '{feat} around the clock',
      '{water} for swimming',
      'Up to 10 days of battery life',
      'Call and message notifications',
    ],
    aspects: ['the battery', 'the step counting', 'the band', 'the app', 'the sleep tracking'],
    box: ['a charging cable', 'an extra band'],
  },
  // 8 Home Audio & Speakers
  {
    key: 'btspeaker', top: 8, path: ['Home Audio & Speakers', 'Portable Bluetooth Speakers'],
    noun: 'speaker', nouns: 'speakers', weight: 0.45, price: { median: 28, sigma: 0.4 },
    attrs: [
      { key: 'watts', values: ['10W', '20W', '30W', '60W'], step: 0.25 },
      { key: 'water', values: ['IPX5 Splashproof', 'IPX7 Waterproof'], step: 0.1 },
      { key: 'battery', values: ['12-Hour', '20-Hour', '24-Hour'], step: 0.06 },
    ],
    titles: [
      '{brand} {series} {model} Portable Bluetooth Speaker, {watts}, {water}, {battery} Playtime, {color}',
      '{brand} {series} {watts} Wireless Speaker with Deep Bass ({water}) - {color}',
    ],
    benefits: ['big, balanced sound', 'a rugged waterproof body', 'true wireless stereo pairing', 'all-day playtime', 'a built-in speakerphone'],
    features: [
      '{watts} stereo drivers with passive bass radiators',
      '{water} and dustproof',
      '{battery} battery life',
      'Pair two speakers for stereo sound',
      'Bluetooth 5.0 with 100ft range',
    ],
    aspects: ['the sound', 'the bass', 'the volume', 'the battery', 'the connection'],
    box: ['a USB-C cable', 'a lanyard'],
  },
  {
    key: 'soundbar', top: 8, path: ['Home Audio & Speakers', 'Sound Bars'],
    noun: 'sound bar', nouns: 'sound bars', weight: 0.3, price: { median: 90, sigma: 0.4 },
    attrs: [
      { key: 'ch', values: ['2.0 Channel', '2.1 Channel', '3.1 Channel', '5.1 Channel', '5.1.2 Channel Dolby Atmos'], step: 0.25 },
      { key: 'sub', values: ['Built-in Subwoofer', 'Wireless Subwoofer'], step: 0.3 },
      { key: 'conn', values: ['Optical and Bluetooth', 'HDMI ARC'], step: 0.1 },
    ],
    titles: [
      '{brand} {series} {model} {ch} Sound Bar with {sub}, {conn}',
      '{brand} {ch} Soundbar for TV ({series}), {sub}, {color}',
    ],
    benefits: ['clear dialogue', 'cinematic bass', 'a slim design that fits under any TV', 'one-remote control', 'virtual surround'],
    features: [
      '{ch} sound',
      '{sub} for deep bass',
      '{conn} connection',
      'Dialogue enhancement and night mode',
      'Wall-mountable slim design',
    ],
    aspects: ['the sound', 'the dialogue', 'the bass', 'the remote', 'the setup'],
    box: ['a remote', 'an optical cable', 'a wall mount kit'],
  },
  {
    key: 'bookshelf', top: 8, path: ['Home Audio & Speakers', 'Speakers', 'Bookshelf Speakers'],
    noun: 'speakers', nouns: 'speakers', weight: 0.25, price: { median: 80, sigma: 0.4 },
    attrs: [
      { key: 'woofer', values: ['4"', '5.25"', '6.5"'], step: 0.25 },
      { key: 'kind', values: ['Passive', 'Powered'], step: 0.35 },
      { key: 'finish', values: ['Black Ash', 'Walnut', 'White Gloss'], step: 0.05 },
    ],
    titles: [
      '{brand} {series} {model} {kind} Bookshelf Speakers, {woofer} Woofer, {finish} (Pair)',
      '{brand} {series} {kind} Bookshelf Speaker Pair with {woofer} Drivers - {finish}',
    ],
    benefits: ['a warm, detailed sound', 'tight bass', 'a wide soundstage', 'real wood cabinets', 'magnetic grilles'],
    features: [
      '{woofer} woofer and 1" silk dome tweeter',
      '{kind} design',
      '{finish} finish on MDF cabinets',
      'Rear bass port',
      'Gold-plated binding posts',
    ],
    aspects: ['the sound', 'the bass', 'the finish', 'the imaging', 'the size'],
    box: ['speaker wire', 'rubber feet'],
  },
  // 9 Video Games
  {
    key: 'console', top: 9, path: ['Video Games', 'Consoles'],
    noun: 'console', nouns: 'consoles', weight: 0.2, price: { median: 230, sigma: 0.25 },
    attrs: [
      { key: 'storage', values: ['500GB', '1TB', '2TB'], step: 0.2 },
      { key: 'edition', values: ['Standard Edition', 'Pro Edition', 'Game Bundle'], step: 0.25 },
    ],
    titles: [
      '{brand} {series} {model} {storage} Console - {edition}, {color}',
      '{brand} {series} {storage} Gaming Console {edition} with Controller',
    ],
    benefits: ['4K gaming', 'fast load times', 'quiet operation', 'a large game library', 'online multiplayer'],
    features: [
      '{storage} of storage for your games',
      '{edition} with one wireless controller',
      'HDR and 4K streaming',
      'Backward compatible with hundreds of games',
      'Built-in Wi-Fi and Gigabit Ethernet',
    ],
    aspects: ['the graphics', 'the load times', 'the noise', 'the controller', 'the games'],
    box: ['a wireless controller', 'an HDMI cable', 'a power cord'],
  },
  {
    key: 'controller', top: 9, path: ['Video Games', 'Accessories', 'Controllers'],
    noun: 'controller', nouns: 'controllers', weight: 0.45, price: { median: 25, sigma: 0.35 },
    attrs: [
      { key: 'conn', values: ['Wired', 'Wireless'], step: 0.35 },
      { key: 'feat', values: ['Dual Vibration', 'Rear Paddles', 'Hall Effect Sticks'], step: 0.25 },
      { key: 'compat', values: ['PC', 'PC and Console', 'Switch'] },
    ],
    titles: [
      '{brand} {series} {conn} Controller for {compat}, {feat}, {color}',
      '{brand} {series} {model} {conn} Gamepad with {feat} - {compat}',
    ],
    benefits: ['responsive sticks', 'comfortable grips', 'strong vibration', 'long battery life', 'remappable buttons'],
    features: [
      '{conn} connection for {compat}',
      '{feat} for precise control',
      'Ergonomic textured grips',
      'Up to 30 hours per charge',
      'Turbo and button remapping',
    ],
    aspects: ['the sticks', 'the buttons', 'the battery', 'the grip', 'the connection'],
    box: ['a USB-C cable'],
  },
  {
    key: 'headset', top: 9, path: ['Video Games', 'Accessories', 'Gaming Headsets'],
    noun: 'gaming headset', nouns: 'gaming headsets', weight: 0.35, price: { median: 30, sigma: 0.35 },
    attrs: [
      { key: 'sound', values: ['Stereo', '7.1 Surround Sound'], step: 0.3 },
      { key: 'conn', values: ['3.5mm Wired', 'USB Wired', '2.4GHz Wireless'], step: 0.35 },
      { key: 'mic', values: ['Flexible Mic', 'Detachable Noise-Cancelling Mic'], step: 0.1 },
    ],
    titles: [
      '{brand} {series} {model} Gaming Headset, {sound}, {conn}, {mic}, {color}',
      '{brand} {series} {sound} Gaming Headset with {mic} for PC and Consoles',
    ],
    benefits: ['positional audio', 'a clear microphone', 'breathable ear cushions', 'on-cable controls', 'a light steel headband'],
    features: [
      '{sound} with 50mm drivers',
      '{conn} connection',
      '{mic} with mute',
      'Memory foam ear cushions',
      'RGB lighting on the ear cups',
    ],
    aspects: ['the mic', 'the sound', 'the comfort', 'the surround', 'the cable'],
    box: ['a splitter cable'],
  },
];

export const BRANDS: readonly Brand[] = [
  { name: 'Voltrix', tier: 1, home: [0, 4, 5], colors: ['Black', 'Silver', 'Blue'], accent: [0, 160, 230], logo: 'bar', series: ['Nova', 'Pulse', 'Edge'], model: 'LL-DDD' },
  { name: 'Auralis', tier: 2, home: [2, 8, 7], colors: ['Black', 'Silver', 'Rose Gold'], accent: [212, 174, 84], logo: 'ring', series: ['Aria', 'Lumen', 'Cadence'], model: 'LDDD' },
  { name: 'Nordvik', tier: 2, home: [3, 8, 2], colors: ['Black', 'Graphite', 'White'], accent: [220, 30, 40], logo: 'square', series: ['Fjell', 'Aurora', 'Saga'], model: 'LLDD' },
  { name: 'Kestrel', tier: 2, home: [1, 6], colors: ['Black', 'Silver'], accent: [240, 110, 20], logo: 'triangle', series: ['Alpha', 'Talon', 'Vista'], model: 'LD DD' },
  { name: 'Zenbyte', tier: 1, home: [0], colors: ['Space Gray', 'Silver', 'Navy Blue'], accent: [90, 200, 120], logo: 'diamond', series: ['Book', 'Air', 'Flow'], model: 'LDDDD' },
  { name: 'Lumora', tier: 1, home: [3, 5, 1], colors: ['Black', 'White'], accent: [250, 200, 40], logo: 'dot', series: ['Glow', 'Halo', 'Prism'], model: 'LDDDL' },
  { name: 'Pixaro', tier: 1, home: [1, 4], colors: ['Black', 'Silver', 'Red'], accent: [200, 40, 160], logo: 'ring', series: ['Snap', 'Frame', 'Lens'], model: 'LL DD' },
  { name: 'Tecvo', tier: 0, home: [4, 6, 0, 5], colors: ['Black', 'White', 'Blue'], accent: [40, 180, 250], logo: 'bar', series: ['Basic', 'Go', 'Lite'], model: 'TDDD' },
  { name: 'Sonique', tier: 1, home: [2, 8], colors: ['Black', 'Teal', 'Coral'], accent: [20, 200, 180], logo: 'dot', series: ['Wave', 'Echo', 'Tempo'], model: 'SDD' },
  { name: 'Quantra', tier: 2, home: [0, 9], colors: ['Black', 'Graphite'], accent: [230, 20, 60], logo: 'triangle', series: ['Titan', 'Vector', 'Raptor'], model: 'QDDDD' },
  { name: 'Brightline', tier: 0, home: [5, 3], colors: ['White', 'Black'], accent: [255, 150, 0], logo: 'square', series: ['Home', 'Spark', 'Beam'], model: 'BL-DDD' },
  { name: 'Orbix', tier: 1, home: [7, 4], colors: ['Black', 'Mint', 'Purple'], accent: [120, 90, 230], logo: 'ring', series: ['Orbit', 'Loop', 'Core'], model: 'LDD' },
  { name: 'Halcyon', tier: 2, home: [8, 2, 3], colors: ['Silver', 'Black', 'Gold'], accent: [170, 140, 90], logo: 'diamond', series: ['Serene', 'Opus', 'Reverie'], model: 'HDDD' },
  { name: 'Ridgeway', tier: 1, home: [6, 1], colors: ['Black', 'Graphite'], accent: [250, 190, 0], logo: 'triangle', series: ['Trail', 'Summit', 'Road'], model: 'RDD' },
  { name: 'Vexa', tier: 1, home: [9, 2, 0], colors: ['Black', 'Red', 'White'], accent: [255, 40, 90], logo: 'diamond', series: ['Strike', 'Blaze', 'Fury'], model: 'VXDD' },
  { name: 'Maple & Finch', tier: 2, home: [8, 5], colors: ['White', 'Black', 'Gold'], accent: [140, 90, 50], logo: 'dot', series: ['Hearth', 'Grove', 'Meadow'], model: 'MF-DD' },
  { name: 'Ampera', tier: 0, home: [4, 6], colors: ['Black', 'White'], accent: [30, 200, 90], logo: 'bar', series: ['Volt', 'Charge', 'Boost'], model: 'ADDD' },
  { name: 'Cirrus', tier: 1, home: [0, 5], colors: ['White', 'Silver', 'Black'], accent: [60, 140, 255], logo: 'ring', series: ['Sky', 'Mesh', 'Stratus'], model: 'CLDDD' },
  { name: 'Driftwood', tier: 0, home: [8, 2], colors: ['Black', 'Orange', 'Teal'], accent: [250, 130, 60], logo: 'square', series: ['Cove', 'Tide', 'Reef'], model: 'DWDD' },
  { name: 'Ekko Labs', tier: 1, home: [7, 5], colors: ['Black', 'White', 'Coral'], accent: [255, 90, 110], logo: 'dot', series: ['Beat', 'Move', 'Rest'], model: 'EDD' },
  { name: 'Fjordlight', tier: 2, home: [3, 1], colors: ['Black', 'Silver'], accent: [90, 170, 230], logo: 'diamond', series: ['Nordic', 'Polar', 'Clarity'], model: 'FDDLL' },
  { name: 'Gridpoint', tier: 0, home: [0], colors: ['Black', 'Silver'], accent: [0, 200, 200], logo: 'square', series: ['Link', 'Node', 'Base'], model: 'GP-DDD' },
  { name: 'Hexon', tier: 0, home: [9], colors: ['Black', 'Blue', 'Red'], accent: [120, 255, 40], logo: 'triangle', series: ['Hex', 'Rogue', 'Arcade'], model: 'HXDD' },
  { name: 'Irisense', tier: 1, home: [1, 5], colors: ['White', 'Black'], accent: [40, 120, 255], logo: 'ring', series: ['Iris', 'Watch', 'Guard'], model: 'ILDD' },
  { name: 'Juno Audio', tier: 1, home: [2], colors: ['Black', 'Navy Blue', 'White'], accent: [230, 200, 60], logo: 'dot', series: ['Juno', 'Muse', 'Solo'], model: 'JDD' },
  { name: 'Kinetiq', tier: 1, home: [7], colors: ['Black', 'Teal', 'Coral'], accent: [0, 220, 140], logo: 'bar', series: ['Stride', 'Sprint', 'Zen'], model: 'KDD' },
  { name: "Marlowe's", tier: 1, home: [8, 2], colors: ['Black', 'Midnight Green', 'Gold'], accent: [200, 160, 60], logo: 'square', series: ['Parlour', 'Lounge', 'Study'], model: 'MDD' },
  { name: 'Monolith Gear', tier: 2, home: [9, 0], colors: ['Matte Black', 'Graphite'], accent: [255, 60, 0], logo: 'square', series: ['Obsidian', 'Slate', 'Basalt'], model: 'MGDDD' },
  { name: 'Novalume', tier: 0, home: [3, 5], colors: ['Black', 'White'], accent: [180, 80, 255], logo: 'dot', series: ['Vivid', 'Lux', 'Bright'], model: 'NDDL' },
  { name: 'Opticore', tier: 2, home: [1], colors: ['Black', 'Silver'], accent: [220, 20, 20], logo: 'ring', series: ['Art', 'Pro', 'Contemporary'], model: 'ODD' },
  { name: 'Pulsewave', tier: 0, home: [2, 7, 8], colors: ['Black', 'Blue', 'Purple'], accent: [0, 230, 255], logo: 'triangle', series: ['Bass', 'Groove', 'Flex'], model: 'PWDD' },
  { name: 'Roadlyne', tier: 0, home: [6], colors: ['Black', 'Graphite'], accent: [255, 200, 0], logo: 'bar', series: ['Cruise', 'Route', 'Drive'], model: 'RLDDD' },
  { name: 'Solenne', tier: 2, home: [4, 7], colors: ['Rose Gold', 'Silver', 'Midnight Green'], accent: [240, 220, 200], logo: 'diamond', series: ['Lumiere', 'Belle', 'Etoile'], model: 'SDDL' },
  { name: 'Trekmate', tier: 1, home: [6, 7, 1], colors: ['Black', 'Orange', 'Graphite'], accent: [255, 120, 0], logo: 'triangle', series: ['Explorer', 'Ranger', 'Scout'], model: 'TDD' },
  { name: 'Umbra', tier: 2, home: [2], colors: ['Matte Black', 'Silver', 'Gold'], accent: [150, 150, 160], logo: 'bar', series: ['Shade', 'Eclipse', 'Noir'], model: 'UDDD' },
  { name: 'Vantix', tier: 0, home: [4, 0], colors: ['Black', 'Blue', 'Red'], accent: [255, 70, 70], logo: 'dot', series: ['Prime', 'Max', 'Neo'], model: 'VDDL' },
  { name: 'Wavecrest', tier: 1, home: [8, 3], colors: ['Black', 'White', 'Navy Blue'], accent: [0, 150, 200], logo: 'ring', series: ['Crest', 'Swell', 'Harbor'], model: 'WDDD' },
  { name: 'Xyla', tier: 0, home: [4, 7], colors: ['Mint', 'Coral', 'Black', 'Yellow'], accent: [255, 220, 0], logo: 'square', series: ['Pop', 'Candy', 'Fresh'], model: 'XDD' },
  { name: 'Yokai', tier: 1, home: [9, 1], colors: ['Black', 'Red', 'White'], accent: [255, 30, 30], logo: 'diamond', series: ['Kitsune', 'Oni', 'Tengu'], model: 'YKDD' },
  { name: 'Zentria', tier: 1, home: [5, 0], colors: ['White', 'Graphite'], accent: [80, 200, 255], logo: 'bar', series: ['Zen', 'Sense', 'Hub'], model: 'ZDDD' },
  { name: 'Sørlund', tier: 2, home: [3, 8], colors: ['Graphite', 'White', 'Gold'], accent: [200, 200, 210], logo: 'ring', series: ['Hav', 'Lys', 'Klang'], model: 'SLDD' },
  { name: 'Coppervale', tier: 0, home: [0, 9, 2], colors: ['Black', 'Silver', 'Orange'], accent: [200, 110, 60], logo: 'triangle', series: ['Forge', 'Anvil', 'Spark'], model: 'CVDDD' },
];

/** The full category path of a product type, most general first. */
export function categoryPath(t: ProductType): string[] {
  return [ROOT_CATEGORY, ...t.path];
}

/** Product types by top category. */
export const TYPES_BY_TOP: readonly (readonly number[])[] = TOP_CATEGORIES.map((_, c) =>
  PRODUCT_TYPES.flatMap((t, i) => (t.top === c ? [i] : [])),
);

/** Brands selling in each top category. */
export const BRANDS_BY_TOP: readonly (readonly number[])[] = TOP_CATEGORIES.map((_, c) =>
  BRANDS.flatMap((b, i) => (b.home.includes(c) ? [i] : [])),
);


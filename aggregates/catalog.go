package aggregates

import (
	"regexp"
	"sort"
	"strings"
	"time"
)

// skuPattern is a stock-keeping unit: letters, digits and ._- (1 to 64).
var skuPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ProductCreatedEvent records a new product.
type ProductCreatedEvent struct {
	ProductID string    `json:"product_id"`
	SKU       string    `json:"sku"`
	Name      string    `json:"name"`
	Unit      string    `json:"unit"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

// ProductActivationChangedEvent records that a product was activated or
// deactivated; an inactive product cannot be put on a new quote.
type ProductActivationChangedEvent struct {
	ProductID string `json:"product_id"`
	From      bool   `json:"from"`
	Active    bool   `json:"active"`
}

// PriceBookCreatedEvent records a new price book.
type PriceBookCreatedEvent struct {
	PriceBookID string    `json:"price_book_id"`
	Name        string    `json:"name"`
	CreatedAt   time.Time `json:"created_at"`
}

// PriceBookPriceSetEvent records a product's list price in one currency;
// FromPrice is the price it replaces ("" for the first one). A price is
// never edited: a new price is a new event.
type PriceBookPriceSetEvent struct {
	PriceBookID string    `json:"price_book_id"`
	ProductID   string    `json:"product_id"`
	Currency    string    `json:"currency"`
	FromPrice   string    `json:"from_price,omitempty"`
	Price       string    `json:"price"`
	SetAt       time.Time `json:"set_at"`
}

// TypeName implements Event.
func (ProductCreatedEvent) TypeName() string { return "product.created" }

// TypeName implements Event.
func (ProductActivationChangedEvent) TypeName() string { return "product.activation_changed" }

// TypeName implements Event.
func (PriceBookCreatedEvent) TypeName() string { return "price_book.created" }

// TypeName implements Event.
func (PriceBookPriceSetEvent) TypeName() string { return "price_book.price_set" }

// SchemaVersion implements Event.
func (ProductCreatedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (ProductActivationChangedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (PriceBookCreatedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (PriceBookPriceSetEvent) SchemaVersion() int { return 1 }

// CatalogEvents lists a sample of every product and price book event type.
func CatalogEvents() []Event {
	return []Event{ProductCreatedEvent{}, ProductActivationChangedEvent{}, PriceBookCreatedEvent{}, PriceBookPriceSetEvent{}}
}

// Product is something that can be sold: a SKU, a name, a unit.
type Product struct {
	id      string
	exists  bool
	created ProductCreatedEvent
	active  bool
}

// NewProduct returns an empty product with the given id.
func NewProduct(id string) *Product { return &Product{id: id} }

// Exists reports whether the product was created.
func (p *Product) Exists() bool { return p.exists }

// Active reports whether the product may be quoted.
func (p *Product) Active() bool { return p.active }

// Apply folds one event into the product.
func (p *Product) Apply(e Event) {
	switch e := e.(type) {
	case ProductCreatedEvent:
		p.exists, p.created, p.active = true, e, e.Active
	case ProductActivationChangedEvent:
		p.active = e.Active
	}
}

// CreateProduct is the command that creates a product. Unit defaults to
// "each"; Active to true.
type CreateProduct struct {
	SKU, Name, Unit string
	Active          *bool
}

// Create validates c and returns the event that creates the product.
// Errors: Refused product_exists; Invalid sku, name or unit.
func (p *Product) Create(c CreateProduct, now time.Time) ([]Event, error) {
	if p.exists {
		return nil, refused("product_exists", "product %s already exists", p.id)
	}
	sku := strings.TrimSpace(c.SKU)
	if sku == "" {
		return nil, invalid("sku", "is required")
	}
	if !skuPattern.MatchString(sku) {
		return nil, invalid("sku", "must be 1 to 64 letters, digits, dots, dashes or underscores")
	}
	if err := required("name", c.Name); err != nil {
		return nil, err
	}
	unit := c.Unit
	if unit == "" {
		unit = "each"
	}
	if err := required("unit", unit); err != nil {
		return nil, err
	}
	active := c.Active == nil || *c.Active
	return []Event{ProductCreatedEvent{ProductID: p.id, SKU: sku, Name: c.Name, Unit: unit, Active: active, CreatedAt: utc(now)}}, nil
}

// SetActive activates or deactivates the product; the current state
// changes nothing. Errors: NotFound.
func (p *Product) SetActive(active bool) ([]Event, error) {
	if !p.exists {
		return nil, &Error{Kind: NotFound, Code: "not_found", Message: "product " + p.id + " not found"}
	}
	if active == p.active {
		return nil, nil
	}
	return []Event{ProductActivationChangedEvent{ProductID: p.id, From: p.active, Active: active}}, nil
}

// ProductView is a product as the API shows it.
type ProductView struct {
	ID        string    `json:"id"`
	SKU       string    `json:"sku"`
	Name      string    `json:"name"`
	Unit      string    `json:"unit"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

// View returns the product's current state.
func (p *Product) View() ProductView {
	return ProductView{ID: p.id, SKU: p.created.SKU, Name: p.created.Name, Unit: p.created.Unit, Active: p.active, CreatedAt: p.created.CreatedAt}
}

// PriceBook holds list prices per product and currency.
type PriceBook struct {
	id      string
	exists  bool
	created PriceBookCreatedEvent
	// prices maps product id and currency ("<product>/<currency>") to the
	// current price.
	prices map[string]Price
}

// Price is one list price.
type Price struct {
	ProductID string    `json:"product_id"`
	Currency  string    `json:"currency"`
	Price     string    `json:"price"`
	SetAt     time.Time `json:"set_at"`
}

// NewPriceBook returns an empty price book with the given id.
func NewPriceBook(id string) *PriceBook { return &PriceBook{id: id, prices: map[string]Price{}} }

// Exists reports whether the price book was created.
func (b *PriceBook) Exists() bool { return b.exists }

// Apply folds one event into the price book.
func (b *PriceBook) Apply(e Event) {
	switch e := e.(type) {
	case PriceBookCreatedEvent:
		b.exists, b.created = true, e
	case PriceBookPriceSetEvent:
		b.prices[e.ProductID+"/"+e.Currency] = Price{ProductID: e.ProductID, Currency: e.Currency, Price: e.Price, SetAt: e.SetAt}
	}
}

// Create validates the name and returns the event that creates the price
// book. Errors: Refused price_book_exists; Invalid name.
func (b *PriceBook) Create(name string, now time.Time) ([]Event, error) {
	if b.exists {
		return nil, refused("price_book_exists", "price book %s already exists", b.id)
	}
	if err := required("name", name); err != nil {
		return nil, err
	}
	return []Event{PriceBookCreatedEvent{PriceBookID: b.id, Name: name, CreatedAt: utc(now)}}, nil
}

// SetPrice sets a product's list price in a currency (the product is
// checked by the caller). The same price changes nothing. Errors:
// NotFound; Invalid price or currency (more decimals than the currency's
// minor unit is invalid too).
func (b *PriceBook) SetPrice(productID, price, currency string, now time.Time) ([]Event, error) {
	if !b.exists {
		return nil, &Error{Kind: NotFound, Code: "not_found", Message: "price book " + b.id + " not found"}
	}
	p, c, err := ValidateMoney("price", "currency", price, currency)
	if err != nil {
		return nil, err
	}
	if hasMoreDecimals(p, c) {
		return nil, invalid("price", "has more decimals than %s allows (%d)", c, MinorUnits(c))
	}
	old, had := b.prices[productID+"/"+c]
	if had && sameAmount(old.Price, p) {
		return nil, nil
	}
	return []Event{PriceBookPriceSetEvent{PriceBookID: b.id, ProductID: productID, Currency: c, FromPrice: old.Price, Price: p, SetAt: utc(now)}}, nil
}

// PriceOf returns a product's current list price in currency.
func (b *PriceBook) PriceOf(productID, currency string) (string, bool) {
	p, ok := b.prices[productID+"/"+currency]
	return p.Price, ok
}

// PriceBookView is a price book as the API shows it.
type PriceBookView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Prices    []Price   `json:"prices"`
	CreatedAt time.Time `json:"created_at"`
}

// View returns the price book's current prices, by product id then
// currency (never nil).
func (b *PriceBook) View() PriceBookView {
	prices := make([]Price, 0, len(b.prices))
	for _, p := range b.prices {
		prices = append(prices, p)
	}
	sort.Slice(prices, func(i, j int) bool {
		if prices[i].ProductID != prices[j].ProductID {
			return prices[i].ProductID < prices[j].ProductID
		}
		return prices[i].Currency < prices[j].Currency
	})
	return PriceBookView{ID: b.id, Name: b.created.Name, Prices: prices, CreatedAt: b.created.CreatedAt}
}

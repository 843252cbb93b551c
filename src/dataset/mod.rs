//! Readers for the VeRi-776 and CityFlow-ReID dataset layouts and their view labels.
